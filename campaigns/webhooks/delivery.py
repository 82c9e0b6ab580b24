"""Delivering the outbox: at least once, with the event's stable id, retried with growing
delays (settings.WEBHOOK_RETRY_SECONDS: about a day and a half in all) until the receiver
answers 2xx.

An attempt is claimed by moving the delivery's `next_attempt_at` a lease ahead in one
conditional UPDATE, so two workers handed the same delivery never both send it; a worker
killed mid-attempt leaves it to come due again when the lease runs out, and the sweep
(beat) sends it then. Nothing depends on a Celery message surviving."""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from campaigns.webhooks import outbox, sending
from campaigns.webhooks.models import Attempt, Delivery, Endpoint, Event

logger = logging.getLogger(__name__)

# Longer than any attempt can take (the 10 s timeout) so a lease never runs out under a live one.
LEASE = timedelta(seconds=sending.TIMEOUT_SECONDS + 20)
# Retries come back through Celery countdowns up to this long; beyond it (and for lost
# messages) the sweep, which only takes deliveries this overdue so it rarely doubles a message.
COUNTDOWN_LIMIT = timedelta(minutes=15)
SWEEP_GRACE = timedelta(seconds=60)
SWEEP_BATCH = 500  # a sweep every 30 s moves 1,000 a minute; a backlog drains over sweeps
DISABLE_AFTER = timedelta(days=5)
# Events, with their deliveries and log, are kept this long once nothing is pending.
KEEP_EVENTS = timedelta(days=30)
PURGE_BATCH = 1000


def retry_delay(attempts_made: int) -> timedelta | None:
    """The wait after the n-th failed attempt; None once the schedule is used up."""
    schedule = settings.WEBHOOK_RETRY_SECONDS
    return timedelta(seconds=schedule[attempts_made - 1]) if attempts_made <= len(schedule) else None


def _claim(delivery_id: int, now: datetime) -> bool:
    return bool(Delivery.objects.due(now).filter(pk=delivery_id).update(next_attempt_at=now + LEASE))


def attempt(delivery_id: int) -> Attempt | None:
    """One attempt at a due delivery; None when it is not due (done, or another worker's)."""
    now = timezone.now()
    if not _claim(delivery_id, now):
        return None
    delivery = Delivery.objects.select_related("event", "endpoint").get(pk=delivery_id)
    endpoint, event = delivery.endpoint, delivery.event
    if not endpoint.enabled:
        Delivery.objects.filter(pk=delivery.pk).update(
            state=Delivery.State.FAILED, next_attempt_at=None, last_error="The endpoint is disabled.")
        return None
    headers = sending.signature_headers(event.id, event.body, endpoint.signing_secrets(now), now)
    result = sending.post(endpoint.url, event.body, headers)
    return _record(delivery, result, now)


def _record(delivery: Delivery, result: sending.Result, started_at: datetime) -> Attempt:
    now = timezone.now()
    attempts = delivery.attempts + 1
    fields = {"attempts": attempts, "last_status_code": result.status_code,
              "last_error": result.error or ("" if result.succeeded else f"HTTP {result.status_code}")}
    retry_in = None if result.succeeded else retry_delay(attempts)
    if result.succeeded:
        fields |= {"state": Delivery.State.DELIVERED, "delivered_at": now, "next_attempt_at": None}
    elif retry_in is None:
        fields |= {"state": Delivery.State.FAILED, "next_attempt_at": None}
    else:
        fields |= {"next_attempt_at": now + retry_in}
    with transaction.atomic():
        logged = Attempt.objects.create(
            delivery=delivery, started_at=started_at, status_code=result.status_code,
            response_ms=result.response_ms, response_excerpt=result.excerpt, error=result.error,
        )
        Delivery.objects.filter(pk=delivery.pk).update(**fields)
        _note_endpoint_health(delivery.endpoint, result.succeeded, now)
    if retry_in is not None and retry_in <= COUNTDOWN_LIMIT:
        transaction.on_commit(lambda: outbox.enqueue([delivery.pk], retry_in.total_seconds()), robust=True)
    return logged


def _note_endpoint_health(endpoint: Endpoint, succeeded: bool, now: datetime) -> None:
    endpoints = Endpoint.objects.filter(pk=endpoint.pk)
    if succeeded:
        endpoints.filter(failing_since__isnull=False).update(failing_since=None)
        return
    endpoints.filter(failing_since__isnull=True).update(failing_since=now)
    failing = endpoints.filter(enabled=True, failing_since__lte=now - DISABLE_AFTER)
    if failing.update(enabled=False, disabled_reason=(
        f"Disabled on {now:%Y-%m-%d %H:%M} UTC: every delivery failed for {DISABLE_AFTER.days} days. "
        "Fix the receiver, then enable the endpoint again (its failed deliveries can be redelivered)."
    )):
        logger.warning("Webhook endpoint %s disabled after failing for days", endpoint.pk)
        Delivery.objects.filter(endpoint=endpoint, state=Delivery.State.PENDING).update(
            state=Delivery.State.FAILED, next_attempt_at=None, last_error="The endpoint was disabled.")


def sweep(now: datetime | None = None) -> int:
    """Hand Celery the deliveries that are overdue: their message was lost, their worker
    died, or their retry was too far ahead for a countdown. Returns how many."""
    now = now or timezone.now()
    overdue = list(Delivery.objects.due(now - SWEEP_GRACE).order_by("next_attempt_at")
                   .values_list("pk", flat=True)[:SWEEP_BATCH])
    outbox.enqueue(overdue)
    return len(overdue)


def purge(now: datetime | None = None) -> int:
    """Forget old events nothing waits for any more, a batch per sweep."""
    now = now or timezone.now()
    old = (Event.objects.filter(created_at__lt=now - KEEP_EVENTS)
           .exclude(deliveries__state=Delivery.State.PENDING).values_list("pk", flat=True)[:PURGE_BATCH])
    deleted, _ = Event.objects.filter(pk__in=list(old)).delete()
    return deleted


def redeliver(delivery_ids: list[int]) -> int:
    """Send again now, with a fresh retry schedule (staff or the API asked), whatever the
    delivery's state: the same event id, so a receiver that already has it can tell."""
    changed = Delivery.objects.filter(pk__in=delivery_ids).update(
        state=Delivery.State.PENDING, next_attempt_at=timezone.now(), attempts=0)
    transaction.on_commit(lambda: outbox.enqueue(delivery_ids), robust=True)
    return changed
