"""Caller-ID pools: a campaign calls from several of the Twilio account's numbers, each dial
from the number that suits the callee best — one with their area code, else one in their
country, else any (local presence) — and among equals the one least recently used, never
more than the campaign's daily cap per number. A number Twilio refuses as caller ID leaves
the rotation with the reason; the others carry on.

`pick` runs in the transaction that marks a dial (calls.dialer.placing): it locks the pool's
rows, in id order, so dials at the same moment see each other's picks and counts."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from campaigns.models import CallerNumber, Campaign
from campaigns.phones import presence

NEVER = datetime.min.replace(tzinfo=ZoneInfo("UTC"))


def cap_day(campaign: Campaign, now: datetime):
    """The day a daily cap counts: the date in the campaign's default time zone."""
    return now.astimezone(ZoneInfo(campaign.default_timezone)).date()


def next_day(campaign: Campaign, now: datetime) -> datetime:
    zone = ZoneInfo(campaign.default_timezone)
    return datetime.combine(cap_day(campaign, now) + timedelta(days=1), time(0), tzinfo=zone)


def has_pool(campaign: Campaign) -> bool:
    return campaign.caller_numbers.exists()


def _has_room(number: CallerNumber, campaign: Campaign, day) -> bool:
    cap = campaign.caller_id_daily_cap
    return cap is None or number.used_on != day or number.used_that_day < cap


def unavailable(campaign: Campaign, now: datetime) -> tuple[str, datetime | None] | None:
    """Why no pool number may place a call now, and when one may again (None: not until a
    person acts); None when one may (or the campaign has no pool)."""
    numbers = list(campaign.caller_numbers.all())
    if not numbers:
        return None
    usable = [n for n in numbers if n.refused_at is None]
    if not usable:
        return "Twilio refused every number of the caller-ID pool: add others on the Edit page.", None
    day = cap_day(campaign, now)
    if not any(_has_room(n, campaign, day) for n in usable):
        cap = campaign.caller_id_daily_cap
        return (f"Not called: every caller ID of the pool has placed its {cap} calls today; "
                "the lead is called tomorrow."), next_day(campaign, now)
    return None


def pick(campaign: Campaign, callee: str, now: datetime) -> CallerNumber | None:
    """The pool number this dial comes from, its use counted; None if every one is refused or
    at its cap. Call inside the dial's transaction: the pool's rows stay locked until it ends."""
    assert transaction.get_connection().in_atomic_block, "pick() counts a use: call it in a transaction"
    numbers = list(CallerNumber.objects.in_rotation().filter(campaign=campaign)
                   .select_for_update().order_by("pk"))
    day = cap_day(campaign, now)
    free = [n for n in numbers if _has_room(n, campaign, day)]
    if not free:
        return None
    country, area = presence(callee)

    def rank(number: CallerNumber):
        nearness = 0 if area and (number.country, number.area_code) == (country, area) else \
            1 if country and number.country == country else 2
        return nearness, number.last_used_at or NEVER, number.pk

    chosen = min(free, key=rank)
    chosen.used_that_day = chosen.used_that_day + 1 if chosen.used_on == day else 1
    chosen.used_on, chosen.last_used_at = day, now
    chosen.save(update_fields=["used_that_day", "used_on", "last_used_at"])
    return chosen


def refuse(campaign: Campaign, phone_number: str, reason: str) -> int | None:
    """Take a number Twilio refused as caller ID out of the campaign's rotation, with the
    reason. Returns how many numbers are left in rotation; None if it is not a pool number."""
    with transaction.atomic():
        refused = CallerNumber.objects.filter(campaign=campaign, phone_number=phone_number).update(
            refused_at=timezone.now(), refused_reason=reason[:300])
        if not refused:
            return None
        return CallerNumber.objects.in_rotation().filter(campaign=campaign).count()


def set_pool(campaign: Campaign, numbers: list[dict]) -> None:
    """Make the pool these account numbers ({"phone_number", "friendly_name", "sid"}): new
    ones join with no use, dropped ones leave, kept ones keep their counts and refusal."""
    chosen = {n["phone_number"]: n for n in numbers}
    with transaction.atomic():
        campaign.caller_numbers.exclude(phone_number__in=chosen).delete()
        known = set(campaign.caller_numbers.values_list("phone_number", flat=True))
        CallerNumber.objects.bulk_create([_new_number(campaign, n) for number, n in chosen.items()
                                          if number not in known])


def _new_number(campaign: Campaign, account_number: dict) -> CallerNumber:
    country, area_code = presence(account_number["phone_number"])
    return CallerNumber(campaign=campaign, phone_number=account_number["phone_number"],
                        friendly_name=account_number.get("friendly_name", "")[:64],
                        twilio_sid=account_number.get("sid", ""), country=country, area_code=area_code)


def reinstate(number: CallerNumber) -> None:
    """Back into the rotation, once the account can use the number again."""
    CallerNumber.objects.filter(pk=number.pk).update(refused_at=None, refused_reason="")
