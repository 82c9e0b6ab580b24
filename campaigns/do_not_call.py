"""Adding and removing numbers on the do-not-call list from the dashboard and the admin.
The DoNotCall table is the single source of truth (the dialer checks it before every dial),
so neither move touches leads: removing a number lets its open leads be called again."""

from campaigns.models import DoNotCall


def add(phones: list[str], reason: str = "", source: str = "staff") -> int:
    """Put numbers on the list; returns how many were not on it already."""
    before = set(DoNotCall.objects.filter(phone__in=phones).values_list("phone", flat=True))
    new = [DoNotCall(phone=p, reason=reason, source=source) for p in dict.fromkeys(phones) if p not in before]
    DoNotCall.objects.bulk_create(new, ignore_conflicts=True)
    return len(new)


def remove(phones: list[str]) -> int:
    deleted, _ = DoNotCall.objects.filter(phone__in=phones).delete()
    return deleted
