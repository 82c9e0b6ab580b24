import hashlib
import json
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from campaigns.models import Campaign, Customer, Disposition, Lead

TWILIO_DEFAULT_TIMEOUT = 60  # seconds a call rings when the dial names no Timeout


class CallStatus(models.TextChoices):
    """Twilio's call statuses (https://www.twilio.com/docs/voice/api/call-resource): each its
    value, for a final one what it says of a call nobody answered (`unanswered`, the call page's
    note in place of a recording), and its label."""

    def __new__(cls, value: str, unanswered: str = ""):
        member = str.__new__(cls, value)
        member._value_ = value
        member.unanswered = unanswered
        return member

    QUEUED = "queued", "Queued"
    INITIATED = "initiated", "Initiated"
    RINGING = "ringing", "Ringing"
    IN_PROGRESS = "in-progress", "In progress"
    COMPLETED = "completed", "nobody answered", "Completed"
    BUSY = "busy", "the line was busy", "Busy"
    FAILED = "failed", "the call failed", "Failed"
    NO_ANSWER = "no-answer", "nobody answered", "No answer"
    CANCELED = "canceled", "the call was cancelled before anyone answered", "Canceled"


# In the order a call goes through them; named once for the QuerySet, the partial index
# and in-memory checks alike.
LIVE_STATUSES = [CallStatus.QUEUED, CallStatus.INITIATED, CallStatus.RINGING, CallStatus.IN_PROGRESS]
FINAL_STATUSES = [CallStatus.COMPLETED, CallStatus.BUSY, CallStatus.FAILED, CallStatus.NO_ANSWER,
                  CallStatus.CANCELED]
# Statuses only ever move forward along this order; every final status ranks last,
# so a late "ringing" can never undo a "completed".
STATUS_RANK = {**{status: rank for rank, status in enumerate(LIVE_STATUSES)},
               **dict.fromkeys(FINAL_STATUSES, len(LIVE_STATUSES))}
# A media stream was linked (the bot spoke) but no summary is stored yet.
UNSUMMARISED = models.Q(summary="") & ~models.Q(stream_sid="")
# Written on a call whose bot session died before storing its summary (the reaper ends such
# calls), so the call page can say why it has no summary and no recording.
NO_SUMMARY = "No summary: the bot's session ended before it stored one."
# Someone the bot could talk to picked up: answered, and not by a machine or a fax.
ANSWERED_BY_PERSON = (models.Q(answered_at__isnull=False) & ~models.Q(answered_by__startswith="machine")
                      & ~models.Q(answered_by="fax"))


class CallQuerySet(models.QuerySet):
    def live(self):
        """Not over yet (queued, initiated, ringing, in progress): these hold a campaign's slots."""
        return self.filter(status__in=LIVE_STATUSES)

    def final(self):
        return self.filter(status__in=FINAL_STATUSES)

    def without_summary(self):
        """Over, and the bot spoke on them, but no session stored their summary (its sign that
        transcript, outcome and recording are stored): the session died first."""
        return self.final().filter(UNSUMMARISED)

    def dialled_since(self, moment: datetime):
        """Asked of Twilio since `moment`: what a campaign's attempts-per-day cap counts."""
        return self.filter(dial_requested_at__gte=moment)

    def transfer_figures(self) -> dict:
        """How these calls' hand-offs to a person went: of the calls a person answered, those
        handed off and those an agent took; of the agents rung (decided), those who answered."""
        answered = models.Q(transfers__status=TransferAttempt.Status.ANSWERED)
        decided = [s for s in TransferAttempt.Status if s != TransferAttempt.Status.RINGING]
        return self.aggregate(
            answered=models.Count("id", filter=ANSWERED_BY_PERSON, distinct=True),
            handed_off=models.Count("id", filter=models.Q(transfers__isnull=False), distinct=True),
            transferred=models.Count("id", filter=answered, distinct=True),
            agents_rung=models.Count("transfers", filter=models.Q(transfers__status__in=decided)),
            agents_answered=models.Count("transfers", filter=answered),
        )

    def counted(self):
        """Every call but staff members' test calls, which count in no figure, list or export,
        and the agent legs of warm transfers (a call to our own agent is no campaign call)."""
        return self.filter(test="", transfer_of__isnull=True)


class Call(models.Model):
    class Direction(models.TextChoices):
        INBOUND = "inbound", "Inbound"
        OUTBOUND = "outbound", "Outbound"

    class Test(models.TextChoices):
        """A staff member trying a campaign's bot: no lead, no contact, counted nowhere."""

        NONE = "", "Not a test"
        PHONE = "phone", "Test call to a phone"
        BROWSER = "browser", "Test in the browser"

    Status = CallStatus
    FINAL_STATUSES = frozenset(FINAL_STATUSES)
    LIVE_STATUSES = frozenset(LIVE_STATUSES)
    STATUS_RANK = STATUS_RANK

    direction = models.CharField(max_length=8, choices=Direction)
    campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.SET_NULL, related_name="calls"
    )
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="calls"
    )
    lead = models.ForeignKey(
        Lead, null=True, blank=True, on_delete=models.SET_NULL, related_name="calls"
    )
    attempt = models.PositiveSmallIntegerField(default=1)
    from_number = models.CharField(max_length=32, blank=True)
    to_number = models.CharField(max_length=32, blank=True)
    # Null until Twilio answers the create request: the row exists before the dial.
    call_sid = models.CharField("CallSid", max_length=34, unique=True, null=True, blank=True)
    # Set just before the REST request: a dial is asked for at most once, even if the
    # worker dies and the task is delivered again (the reaper reconciles those).
    dial_requested_at = models.DateTimeField(null=True, blank=True)
    stream_sid = models.CharField("StreamSid", max_length=34, blank=True)
    status = models.CharField(max_length=16, choices=Status, default=Status.QUEUED)
    last_sequence_number = models.IntegerField(null=True, blank=True)
    answered_by = models.CharField(max_length=32, blank=True)
    parameters = models.JSONField(default=dict, blank=True)
    test = models.CharField(max_length=8, choices=Test, blank=True, default=Test.NONE)
    tested_by = models.ForeignKey(
        "auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    created_at = models.DateTimeField(auto_now_add=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    duration_seconds = models.PositiveIntegerField(null=True, blank=True)
    # The last sign of life: a status callback applied, or the media stream's heartbeat. A live
    # call silent for too long is fetched from Twilio (see needs_fetching).
    last_heard_at = models.DateTimeField(null=True, blank=True)
    # What Twilio charged, once known (the fetched Call resource carries it; callbacks do not).
    price = models.DecimalField(max_digits=10, decimal_places=5, null=True, blank=True)
    price_unit = models.CharField(max_length=8, blank=True)

    disposition = models.CharField(max_length=32, choices=Disposition, blank=True)
    notes = models.TextField(blank=True)
    summary = models.TextField(blank=True)
    recording = models.FileField(upload_to="recordings/%Y/%m/%d/", blank=True)
    metrics = models.JSONField(default=dict, blank=True, help_text="Latency figures in ms.")
    error_code = models.CharField(max_length=16, blank=True)
    error_message = models.TextField(blank=True)
    # A warm transfer's agent leg: the caller's call it briefs an agent about (calls.transfers).
    transfer_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="agent_legs"
    )
    transferred_to = models.CharField(max_length=32, blank=True, help_text="The agent who answered.")

    objects = CallQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["campaign", "-created_at"], name="call_campaign_recent_idx"),
            # A campaign's latest test calls (its page lists them), without walking its real ones.
            models.Index(fields=["campaign", "-created_at"], condition=~models.Q(test=""),
                         name="call_test_recent_idx"),
            models.Index(fields=["customer", "-created_at"], name="call_customer_recent_idx"),
            models.Index(fields=["direction", "-created_at"], name="call_direction_recent_idx"),
            # Live calls per campaign (CallQuerySet.live): the concurrency limit and the live board.
            models.Index(
                fields=["campaign", "status"],
                condition=models.Q(status__in=LIVE_STATUSES),
                name="call_live_idx",
            ),
            # Calls waiting for their session's summary (CallQuerySet.without_summary): a few
            # at a time, for the reaper.
            models.Index(fields=["ended_at"], condition=UNSUMMARISED, name="call_unsummarised_idx"),
        ]

    def __str__(self) -> str:
        return self.call_sid or f"call #{self.pk}"

    @property
    def is_test(self) -> bool:
        return self.test != self.Test.NONE

    @property
    def is_live(self) -> bool:
        return self.status in self.LIVE_STATUSES

    def recording_note(self) -> str:
        """What the call page says in place of a recording. The bot's session records every
        call it talks on and stores the recording with its summary, just after the call ends."""
        if self.is_live:
            return "The recording appears here when the call ends."
        if not self.answered_at:
            return f"No recording: {CallStatus(self.status).unanswered}."
        if not self.stream_sid:
            return "No recording: the call's audio never reached the bot."
        if UNSUMMARISED.check({"summary": self.summary, "stream_sid": self.stream_sid}):
            return "The bot is storing the recording…"
        if self.summary == NO_SUMMARY:
            return "No recording: the bot's session ended before it stored one."
        return "No recording was stored for this call."

    def needs_fetching(self, now: datetime, margin: timedelta) -> bool:
        """Has this live call been silent long enough that Twilio has likely ended it without
        our hearing (a lost final callback)? Unanswered: longer than its ring timeout plus the
        margin. Answered: its media stream has shown no life for the margin (it ended, or the
        process holding it died), or its time limit has passed."""
        heard = self.last_heard_at or self.dial_requested_at or self.created_at
        if self.status == self.Status.IN_PROGRESS:
            limit = timedelta(seconds=settings.TWILIO_TIME_LIMIT_SECONDS)
            return heard < now - margin or (self.answered_at or heard) < now - limit - margin
        ring = self.campaign.ring_timeout_seconds if self.campaign else TWILIO_DEFAULT_TIMEOUT
        return heard < now - timedelta(seconds=ring) - margin

    def move_to(self, status: str) -> bool:
        """Move the status forward (in memory), never back: Twilio's callbacks come in any
        order and more than once, and every writer goes through here. True if it moved."""
        if self.STATUS_RANK[status] <= self.STATUS_RANK[self.status]:
            return False
        self.status = status
        return True


def default_scopes() -> list[str]:
    return [ApiToken.Scope.READ]


class ApiToken(models.Model):
    """A bearer token for the API. Only its SHA-256 is stored; the token itself is shown
    once, when it is created in the admin."""

    class Scope(models.TextChoices):
        READ = "read", "read: everything that GET shows"
        WRITE = "write", "write: campaigns, leads, do-not-call, imports, webhooks"
        CALLS = "calls", "calls: place calls (POST /api/v1/calls/)"

    name = models.CharField(max_length=100, help_text="Who or what uses it, e.g. 'CRM'.")
    scopes = models.JSONField(default=default_scopes, help_text="What it may do: read, write, calls.")
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(max_length=8, editable=False, help_text="The token's first characters.")
    created_by = models.ForeignKey(
        "auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked = models.BooleanField(default=False)

    class Meta:
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def digest(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    def set_new_token(self) -> str:
        """Give this row a fresh token; returns it (the only time it is readable)."""
        token = secrets.token_urlsafe(32)
        self.token_hash, self.prefix = self.digest(token), token[:8]
        return token

    @classmethod
    def issue(cls, name: str, created_by=None, scopes: list[str] | None = None) -> tuple["ApiToken", str]:
        api_token = cls(name=name, created_by=created_by, scopes=scopes or list(cls.Scope.values))
        token = api_token.set_new_token()
        api_token.save()
        return api_token, token


class IdempotencyKeyQuerySet(models.QuerySet):
    def current(self):
        return self.filter(created_at__gt=timezone.now() - IdempotencyKey.KEPT_FOR)

    def expired(self):
        return self.filter(created_at__lte=timezone.now() - IdempotencyKey.KEPT_FOR)


class IdempotencyKey(models.Model):
    """An Idempotency-Key a dial-out API client sent, and the call its request made: the
    same request sent again (a client that timed out) gets that call back, not a second
    dial. Written in the transaction that creates the Call, so a key never exists without
    its call nor a call without its key; honoured for KEPT_FOR, then cleaned up."""

    KEPT_FOR = timedelta(hours=24)
    KEY_MAX_LENGTH = 255

    api_token = models.ForeignKey(ApiToken, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=KEY_MAX_LENGTH)
    # SHA-256 of the parsed request body: the same key with another body is refused.
    request_hash = models.CharField(max_length=64)
    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    objects = IdempotencyKeyQuerySet.as_manager()

    class Meta:
        constraints = [
            # Per token: two clients never see each other's calls through a shared key.
            models.UniqueConstraint(fields=["api_token", "key"], name="idempotencykey_unique_per_token")
        ]

    def __str__(self) -> str:
        return self.key

    @staticmethod
    def digest(body: dict) -> str:
        return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


class TransferAttemptQuerySet(models.QuerySet):
    def pending(self):
        """Ringing an agent (or briefing one, warm): the hand-off is not decided yet."""
        return self.filter(status=TransferAttempt.Status.RINGING)


class TransferAttempt(models.Model):
    """One agent rung for a call's hand-off to a person: who, why, and how the agent's leg
    went. A hand-off that moves on to the next target writes one attempt per target."""

    class Mode(models.TextChoices):
        COLD = "cold", "Cold"
        WARM = "warm", "Warm"

    class Status(models.TextChoices):
        RINGING = "ringing", "Ringing"
        ANSWERED = "answered", "Answered"
        NO_ANSWER = "no_answer", "No answer"
        BUSY = "busy", "Busy"
        FAILED = "failed", "Failed"
        DECLINED = "declined", "Declined"
        CANCELED = "canceled", "Canceled"
        HUNG_UP_BEFORE_JOIN = "hung_up_before_join", "Hung up before joining"

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="transfers")
    target = models.CharField(max_length=32)
    mode = models.CharField(max_length=8, choices=Mode)
    requested_by = models.CharField(max_length=150, help_text="“bot”, or the staff member who took over.")
    reason = models.CharField(max_length=300, blank=True)
    summary = models.TextField(blank=True)
    # The targets still to try, in order, if this one does not answer.
    next_targets = models.JSONField(default=list, blank=True)
    # Warm: the agent's own call, and the conference the caller waits in.
    agent_call = models.OneToOneField(
        Call, null=True, blank=True, on_delete=models.SET_NULL, related_name="briefed_transfer"
    )
    conference = models.CharField(max_length=64, blank=True)
    agent_call_sid = models.CharField(max_length=34, blank=True)
    status = models.CharField(max_length=24, choices=Status, default=Status.RINGING)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    duration_secs = models.PositiveIntegerField(null=True, blank=True)

    objects = TransferAttemptQuerySet.as_manager()

    class Meta:
        ordering = ["call", "created_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_mode_display()} transfer of {self.call} to {self.target}"


class CallEvent(models.Model):
    """A status callback exactly as Twilio sent it (duplicates included)."""

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="events")
    call_status = models.CharField(max_length=16)
    sequence_number = models.IntegerField(null=True, blank=True)
    params = models.JSONField()
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["call", "sequence_number", "received_at"]

    def __str__(self) -> str:
        return f"{self.call_status} #{self.sequence_number}"


class Listening(models.Model):
    """The audit log of listening in: who listened to which call, from when to when."""

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="listenings")
    user = models.ForeignKey("auth.User", null=True, on_delete=models.SET_NULL, related_name="+")
    username = models.CharField(max_length=150, help_text="Kept if the user is deleted.")
    started_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.username} listened to {self.call}"


class TranscriptLine(models.Model):
    class Speaker(models.TextChoices):
        CALLER = "caller", "Caller"
        BOT = "bot", "Bot"

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="transcript")
    speaker = models.CharField(max_length=8, choices=Speaker)
    text = models.TextField()
    unheard = models.TextField(
        blank=True, help_text="The rest of a bot line the caller talked over: said, never heard."
    )
    offset_ms = models.PositiveIntegerField(help_text="Milliseconds since the call started.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["call", "offset_ms", "id"]
        indexes = [models.Index(fields=["call", "offset_ms"], name="transcript_call_offset_idx")]

    def __str__(self) -> str:
        return f"{self.speaker}: {self.text[:60]}"



