"""Writing events: call `emit` inside the transaction of the change it reports, so the
event exists exactly when the change does (an outbox). Delivery starts after the commit;
if that message is lost (Redis down, a worker killed) the sweep finds the row again."""

import json
from collections.abc import Callable
from datetime import UTC, datetime

from celery import current_app
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction

from campaigns.webhooks.models import Delivery, Endpoint, Event

Data = dict | Callable[[], dict]


def body(event_type: str, at: datetime, data: dict) -> str:
    return json.dumps(
        {"type": event_type, "timestamp": at.astimezone(UTC).isoformat(), "data": data},
        cls=DjangoJSONEncoder, separators=(",", ":"),
    )


def emit(event_type: str, data: Data, *, campaign_id: int | None = None, subject: str = "") -> Event | None:
    """Record an event for every endpoint that wants it. `data` may be a function, called
    only when some endpoint listens (building a call's payload costs queries). With a
    `subject` the event is sent once per subject: the caller holds that thing's row lock."""
    endpoints = Endpoint.objects.receiving(event_type, campaign_id)
    if not endpoints:
        return None
    if subject and Event.objects.filter(type=event_type, subject=subject).exists():
        return None
    event = Event(type=event_type, campaign_id=campaign_id, subject=subject)
    event.body = body(event_type, datetime.now(UTC), data() if callable(data) else data)
    event.save()
    deliveries = Delivery.objects.bulk_create([Delivery(event=event, endpoint=e) for e in endpoints])
    transaction.on_commit(lambda: enqueue([d.pk for d in deliveries]), robust=True)
    return event


# Sent by name: the tasks module imports the delivery code, which imports this one.
DELIVER_TASK = "campaigns.webhooks.tasks.deliver"


def enqueue(delivery_ids: list[int], countdown: float | None = None) -> None:
    for delivery_id in delivery_ids:
        current_app.send_task(DELIVER_TASK, (delivery_id,), countdown=countdown)
