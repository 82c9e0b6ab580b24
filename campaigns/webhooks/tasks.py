"""Webhook delivery tasks: thin, they take ids and delegate to `delivery`. Losing one of
these messages loses nothing: the sweep finds overdue deliveries in the database."""

from celery import shared_task

from campaigns.webhooks import delivery


@shared_task(ignore_result=True)
def deliver(delivery_id: int) -> None:
    delivery.attempt(delivery_id)


@shared_task(ignore_result=True)
def sweep() -> None:
    delivery.sweep()
    delivery.purge()
