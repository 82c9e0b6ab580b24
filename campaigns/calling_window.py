"""When a person may be called: inside the campaign's hours for *their* local weekday (its
daily window unless that weekday has hours of its own), not on a date the campaign skips
(a holiday, in their calendar), and never outside 08:00–21:00 local whatever the campaign
says (TCPA / TSR). The dispatcher asks when it claims and again as it dials."""

from datetime import date, datetime, time
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from campaigns.models import WEEKDAYS, Campaign, Customer
from campaigns.phones import timezone_for_number

EARLIEST, LATEST = time(8, 0), time(21, 0)


@cache
def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def window(campaign: Campaign, day: date) -> tuple[time, time] | None:
    """The hours the campaign may call on this local date; None when it calls no one."""
    if day.isoformat() in campaign.skip_dates:
        return None
    hours = campaign.weekday_hours.get(WEEKDAYS[day.weekday()])
    if hours is None:
        start, end = campaign.window_start, campaign.window_end
    elif not hours:
        return None  # closed that weekday
    else:
        start, end = time.fromisoformat(hours[0]), time.fromisoformat(hours[1])
    return max(start, EARLIEST), min(end, LATEST)


def is_open(zone_name: str, campaign: Campaign, now: datetime) -> bool:
    zone = _zone(zone_name)
    if zone is None:
        return False
    local = now.astimezone(zone)
    hours = window(campaign, local.date())
    return hours is not None and hours[0] <= local.time() < hours[1]


def local_midnight(zone_name: str, now: datetime) -> datetime:
    """The start of the callee's day (for the attempts-per-day cap); UTC's for an unknown zone."""
    local = now.astimezone(_zone(zone_name) or ZoneInfo("UTC"))
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def customer_zone(customer: Customer, campaign: Campaign | None) -> str:
    """Where a person is: the one rule, for the dialer's leads and the bot's clock alike.
    From the contact row, else from the number's numbering plan, else the campaign's
    default (UTC without a campaign). The dispatcher's bulk pass applies its first step in
    SQL (calls.dialer.claiming.resolve_zones)."""
    if customer.timezone and _zone(customer.timezone):
        return customer.timezone
    return timezone_for_number(customer.phone) or (campaign.default_timezone if campaign else "UTC")


def zone_where_it_is(hour: int, now: datetime) -> str:
    """An Etc/GMT zone where the local hour is `hour` right now. The demo's fictional
    contacts live there, so the demo has someone to call at whatever time it is run."""
    offset = (hour - now.astimezone(ZoneInfo("UTC")).hour + 12) % 24 - 12  # -12 … +11 h
    # Etc/GMT names count the other way round: Etc/GMT-3 is three hours ahead of UTC.
    return "Etc/GMT" + (f"{-offset:+d}" if offset else "")
