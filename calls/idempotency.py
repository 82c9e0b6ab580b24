"""Idempotency-Key for the dial-out API: a client that sends a request again (it timed out,
its connection dropped) gets the call the first one made, and nothing is dialled twice.

Keys are rows in the database, created in the same transaction as their Call: a concurrent
retry with the same key waits on the unique index until the first commits, then finds its
call. A cache or Redis key set beside the transaction could be lost, or committed without
its call, between the two writes."""

from collections.abc import Callable

from django.db import IntegrityError, transaction

from calls.models import ApiToken, Call, IdempotencyKey


class KeyReused(Exception):
    """The key was used before for a request with a different body."""


def earlier_call(api_token: ApiToken, key: str, body: dict) -> Call | None:
    """The call a request with this key made in the last 24 hours, if any."""
    if not key:
        return None
    found = IdempotencyKey.objects.current().filter(api_token=api_token, key=key)
    entry = found.select_related("call").first()
    if entry is None:
        return None
    if entry.request_hash != IdempotencyKey.digest(body):
        raise KeyReused(key)
    return entry.call


def create_once(api_token: ApiToken, key: str, body: dict, create: Callable[[], Call]) -> tuple[Call, bool]:
    """Create the call and remember it under the key, all or nothing; returns the call and
    whether it is an earlier request's (a concurrent twin committed first)."""
    try:
        with transaction.atomic():
            call = create()
            if key:
                # Past its 24 hours the key is free again, whether or not cleanup has run.
                IdempotencyKey.objects.expired().filter(api_token=api_token, key=key).delete()
                IdempotencyKey.objects.create(
                    api_token=api_token, key=key, request_hash=IdempotencyKey.digest(body), call=call
                )
    except IntegrityError:
        twin = earlier_call(api_token, key, body)
        if twin is None:
            raise
        return twin, True
    return call, False


def forget_expired() -> int:
    deleted, _ = IdempotencyKey.objects.expired().delete()
    return deleted
