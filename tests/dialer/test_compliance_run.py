"""Compliance settings honoured by the running dispatcher (beat's tick, a real worker, the
emulator as Twilio): nobody is called on a date the campaign skips or on a weekday it has
closed, and a contact is called no more often in a day than the campaign's cap."""

import time
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from calls.tasks import dispatch_tick
from campaigns import lifecycle
from campaigns.calling_window import WEEKDAYS, zone_where_it_is
from campaigns.models import Lead
from tests.dialer.conftest import make_campaign

pytestmark = pytest.mark.django_db(transaction=True)


def dialled(emulator) -> list[str]:
    return sorted(call["to"] for call in emulator.calls())


def tick_until(predicate, timeout: float = 30):
    """Beat's job, done by the test: a dispatch tick every half second until `predicate`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        dispatch_tick.delay()
        time.sleep(0.5)
    raise TimeoutError(f"condition not met within {timeout} s")


def test_a_holiday_and_a_closed_weekday_are_honoured_by_the_dispatcher(emulator, worker):
    zone = zone_where_it_is(13, datetime.now(UTC))  # 13:00 there: inside every window below
    today = datetime.now(UTC).astimezone(ZoneInfo(zone)).date()
    weekday = WEEKDAYS[today.weekday()]
    campaigns = {
        "+12025550111": make_campaign(["+12025550111"], zone, skip_dates=[today.isoformat()]),
        "+12025550211": make_campaign(["+12025550211"], zone, weekday_hours={weekday: []}),
        "+12025550311": make_campaign(["+12025550311"], zone, weekday_hours={weekday: ["16:00", "18:00"]}),
        "+12025550411": make_campaign(["+12025550411"], zone, weekday_hours={weekday: ["12:00", "15:00"]}),
    }
    for campaign in campaigns.values():
        lifecycle.start(campaign)

    # The one whose hours today are open is called (and its call ends); a few ticks more
    # call nobody else.
    tick_until(lambda: Lead.objects.filter(state=Lead.State.DONE).exists())
    for _ in range(4):
        dispatch_tick.delay()
        time.sleep(0.5)

    assert dialled(emulator) == ["+12025550411"]
    waiting = Lead.objects.exclude(customer__phone="+12025550411")
    assert set(waiting.values_list("state", "attempts")) == {(Lead.State.PENDING, 0)}


def test_a_contact_is_called_no_more_often_in_a_day_than_the_cap(emulator, worker):
    # Busy every time, retried at once: only the cap stops the dialler at two calls today.
    campaign = make_campaign(["+12025550104"], max_attempts=5, max_attempts_per_day=2)
    lifecycle.start(campaign)

    tick_until(lambda: Lead.objects.filter(state=Lead.State.RETRY, attempts=2).exists())
    for _ in range(6):  # three seconds of ticks, the lead due all along
        dispatch_tick.delay()
        time.sleep(0.5)

    assert dialled(emulator) == ["+12025550104", "+12025550104"]
    lead = Lead.objects.get()
    assert (lead.state, lead.attempts) == (Lead.State.RETRY, 2)
