import base64
import secrets
import uuid
from datetime import datetime, timedelta

from django.db import models
from django.utils import timezone

from campaigns.models import Campaign

SECRET_PREFIX = "whsec_"  # noqa: S105 (the Standard Webhooks prefix, not a secret)
# The Standard Webhooks way: after a rotation receivers may still hold the old secret for
# a while, so deliveries are signed with both until it expires.
OLD_SECRET_VALID_FOR = timedelta(hours=24)


class EventType(models.TextChoices):
    CALL_STARTED = "call.started", "call.started: a call was answered"
    CALL_ENDED = "call.ended", "call.ended: a call is over, with its outcome and transcript"
    CALL_TRANSFERRED = "call.transferred", "call.transferred: a call was handed to a person"
    LEAD_COMPLETED = "lead.completed", "lead.completed: a lead will not be called again"
    LEAD_DO_NOT_CALL = "lead.do_not_call", "lead.do_not_call: a lead asked not to be called"
    CAMPAIGN_STATUS_CHANGED = "campaign.status_changed", "campaign.status_changed"
    IMPORT_FINISHED = "import.finished", "import.finished: a contact import is done or failed"


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def new_message_id() -> str:
    return f"msg_{uuid.uuid4().hex}"


class EndpointQuerySet(models.QuerySet):
    def receiving(self, event_type: str, campaign_id: int | None) -> list["Endpoint"]:
        """The enabled endpoints that want this event: those of its campaign and those of
        the whole deployment (no campaign). Filtered in Python: the table is small, and
        JSON containment is not portable to SQLite."""
        scope = models.Q(campaign__isnull=True)
        if campaign_id is not None:
            scope |= models.Q(campaign_id=campaign_id)
        return [endpoint for endpoint in self.filter(scope, enabled=True) if event_type in endpoint.events]


class Endpoint(models.Model):
    """A URL that receives events, for the whole deployment or for one campaign."""

    url = models.URLField(max_length=2000)
    events = models.JSONField(default=list, help_text="The event types it receives.")
    campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.CASCADE, related_name="webhook_endpoints",
        help_text="Empty: every campaign's events.",
    )
    description = models.CharField(max_length=200, blank=True)
    # Kept readable: every delivery is an HMAC with it. Shown once, when made or rotated.
    secret = models.CharField(max_length=64, default=new_secret, editable=False)
    previous_secret = models.CharField(max_length=64, blank=True, editable=False)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    enabled = models.BooleanField(default=True)
    disabled_reason = models.TextField(blank=True)
    # The first failure since the last success; an endpoint failing for long is disabled.
    failing_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = EndpointQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        verbose_name = "webhook endpoint"

    def __str__(self) -> str:
        return self.url

    def signing_secrets(self, now: datetime) -> list[str]:
        old = self.previous_secret_expires_at and self.previous_secret_expires_at > now
        return [self.secret, self.previous_secret] if old and self.previous_secret else [self.secret]

    def rotate_secret(self) -> str:
        """A new secret from now on; the old one still signs for OLD_SECRET_VALID_FOR."""
        self.previous_secret, self.secret = self.secret, new_secret()
        self.previous_secret_expires_at = timezone.now() + OLD_SECRET_VALID_FOR
        self.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at"])
        return self.secret

    def enable(self) -> None:
        self.enabled, self.disabled_reason, self.failing_since = True, "", None
        self.save(update_fields=["enabled", "disabled_reason", "failing_since"])


class Event(models.Model):
    """The outbox: one row per thing that happened, written in the transaction that made it
    happen. `body` is the exact JSON every attempt sends, so signatures and receivers'
    de-duplication (by `id`, the webhook-id header) see the same message each time."""

    id = models.CharField(primary_key=True, max_length=40, default=new_message_id, editable=False)
    type = models.CharField(max_length=32, choices=EventType)
    campaign = models.ForeignKey(Campaign, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # What it is about ("call:42"), for events sent once per thing.
    subject = models.CharField(max_length=64, blank=True)
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["type", "subject"], name="webhook_event_subject_idx")]

    def __str__(self) -> str:
        return f"{self.type} {self.id}"


class DeliveryQuerySet(models.QuerySet):
    def due(self, now: datetime):
        return self.filter(state=Delivery.State.PENDING, next_attempt_at__lte=now)


class Delivery(models.Model):
    """One event on its way to one endpoint."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Gave up"

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="deliveries")
    state = models.CharField(max_length=16, choices=State, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    # When the next attempt may start; an attempt under way holds it a lease ahead.
    next_attempt_at = models.DateTimeField(null=True, blank=True, default=timezone.now)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    objects = DeliveryQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(fields=["event", "endpoint"], name="delivery_once_per_endpoint"),
        ]
        indexes = [
            models.Index(fields=["next_attempt_at"], condition=models.Q(state="pending"),
                         name="delivery_due_idx"),
            models.Index(fields=["endpoint", "-created_at"], name="delivery_endpoint_recent_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} → {self.endpoint_id}"


class Attempt(models.Model):
    """One POST and what came back: the delivery log."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="log")
    started_at = models.DateTimeField()
    status_code = models.PositiveIntegerField(null=True, blank=True)
    response_ms = models.PositiveIntegerField()
    response_excerpt = models.TextField(blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["delivery", "started_at"]

    def __str__(self) -> str:
        return f"{self.status_code or self.error[:40]} in {self.response_ms} ms"

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300
