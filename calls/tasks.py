"""Celery tasks for calls: thin, delegate to the modules that own the rows."""

from celery import shared_task

from calls import idempotency


# Beat runs it hourly: lookups already ignore keys past their 24 hours, this only keeps
# the table from growing.
@shared_task(ignore_result=True)
def forget_expired_idempotency_keys() -> None:
    idempotency.forget_expired()
