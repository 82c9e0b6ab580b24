"""Adding and removing numbers on the do-not-call list from the dashboard and the admin.
The DoNotCall table is the single source of truth: the dialer checks it in the transaction
that marks each dial (calls.dialer.placing), so neither move touches leads, and
removing a number lets its open leads be called again.

A number being added and a dial to it being marked never pass each other: each write to the
list takes an advisory lock on the number (a trigger, migration 0006), which the dialer takes
too, shared, before it reads the list."""

from django.db import connection

from campaigns.models import DoNotCall

# pg_advisory_xact_lock(NUMBER_LOCK, hashtext(phone)); the trigger spells the same numbers.
# (contact imports use namespace 7001.) A hash collision only makes two numbers wait for each other.
NUMBER_LOCK = 7002


def add(phones: list[str], reason: str = "", source: str = "staff") -> int:
    """Put numbers on the list; returns how many were not on it already."""
    phones = sorted(set(phones))  # the trigger locks them in insert order: always the same one
    before = set(DoNotCall.objects.filter(phone__in=phones).values_list("phone", flat=True))
    new = [DoNotCall(phone=p, reason=reason, source=source) for p in phones if p not in before]
    DoNotCall.objects.bulk_create(new, ignore_conflicts=True)
    return len(new)


def remove(phones: list[str]) -> int:
    deleted, _ = DoNotCall.objects.filter(phone__in=phones).delete()
    return deleted


def is_listed_for_dialling(phone: str) -> bool:
    """Whether the number is on the list, read so that no entry can be committed for it until
    the caller's transaction ends (call inside transaction.atomic, just before marking a dial)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock_shared(%s, hashtext(%s))", [NUMBER_LOCK, phone])
    return DoNotCall.objects.filter(phone=phone).exists()
