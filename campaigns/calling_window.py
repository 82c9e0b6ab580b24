"""When a person may be called: inside the campaign's daily window in *their* local time,
and never outside 08:00–21:00 local whatever the campaign says (TCPA / TSR)."""

from datetime import datetime, time
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from campaigns.models import Campaign, Customer
from campaigns.phones import timezone_for_number

EARLIEST, LATEST = time(8, 0), time(21, 0)


@cache
def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def window(campaign: Campaign) -> tuple[time, time]:
    return max(campaign.window_start, EARLIEST), min(campaign.window_end, LATEST)


def is_open(zone_name: str, campaign: Campaign, now: datetime) -> bool:
    zone = _zone(zone_name)
    if zone is None:
        return False
    start, end = window(campaign)
    return start <= now.astimezone(zone).time() < end


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
