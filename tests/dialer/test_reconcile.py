"""A call whose final status callback never came is fetched from Twilio once it has been
silent too long, and ends up with Twilio's own outcome: its status, duration and price, its
lead settled and its concurrency slot freed."""

from datetime import timedelta
from decimal import Decimal
from email.utils import parsedate_to_datetime

import pytest
from django.utils import timezone

from calls.dialer import claiming, reaper
from calls.models import Call
from calls.tasks import dispatch_campaign
from campaigns import lifecycle
from campaigns.models import Campaign, Customer, Lead
from tests.dialer.conftest import make_campaign
from tests.waiting import wait_until

NUMBER = "+12025550111"
MARGIN = timedelta(seconds=45)


def silent_for(seconds: float):
    return timezone.now() + timedelta(seconds=seconds)


@pytest.mark.django_db(transaction=True)
def test_a_call_whose_callbacks_were_all_lost_is_fetched_and_settled(emulator, worker, settings):
    campaign = make_campaign([NUMBER])
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:9"  # Twilio cannot reach us: every callback is lost
    lifecycle.start(campaign)
    dispatch_campaign.delay(campaign.pk)
    call = wait_until(lambda: Call.objects.exclude(call_sid=None).first(), timeout=30)
    twilio = emulator.wait_for_status(call.call_sid, "completed", timeout=30)
    call.refresh_from_db()
    assert call.status == Call.Status.QUEUED and claiming.live_call_count(campaign) == 1

    assert reaper.reap()["fetched"] == 0  # not silent for long enough yet
    assert reaper.reap(now=silent_for(campaign.ring_timeout_seconds + reaper.RECONCILE_MARGIN.seconds + 1)
                         )["fetched"] == 1

    call.refresh_from_db()
    assert call.status == twilio["status"] == "completed"
    assert call.duration_seconds == int(twilio["duration"]) and call.price == Decimal(twilio["price"])
    assert call.ended_at == parsedate_to_datetime(twilio["end_time"])  # Twilio's time, not ours
    lead = Lead.objects.get()
    assert lead.state == Lead.State.DONE and claiming.live_call_count(campaign) == 0


@pytest.mark.django_db(transaction=True)
def test_a_call_twilio_never_heard_of_is_failed_with_that_reason(emulator):
    campaign = Campaign.objects.create(name="Sale", caller_id="+12025550100", max_attempts=3)
    lead = Lead.objects.create(campaign=campaign, customer=Customer.objects.create(phone=NUMBER),
                               state=Lead.State.IN_CALL, attempts=1)
    call = Call.objects.create(direction=Call.Direction.OUTBOUND, campaign=campaign, lead=lead, attempt=1,
                               call_sid="CA" + "d" * 32, status=Call.Status.RINGING,
                               dial_requested_at=timezone.now())

    assert reaper.reap(now=silent_for(campaign.ring_timeout_seconds + MARGIN.seconds + 1))["fetched"] == 1

    call.refresh_from_db()
    assert call.status == Call.Status.FAILED and call.error_code == "20404"
    assert call.error_message == "Twilio has no record of this call."
    lead.refresh_from_db()
    assert lead.state == Lead.State.RETRY  # settled like any failed attempt


def a_call(status: str, heard_seconds_ago: float, answered_seconds_ago: float | None = None) -> Call:
    now = timezone.now()
    answered_at = None if answered_seconds_ago is None else now - timedelta(seconds=answered_seconds_ago)
    return Call(status=status, campaign=Campaign(ring_timeout_seconds=30), answered_at=answered_at,
                last_heard_at=now - timedelta(seconds=heard_seconds_ago))


def test_an_unanswered_call_is_fetched_once_silent_past_its_ring_timeout_and_the_margin():
    assert not a_call("ringing", 30 + 44).needs_fetching(timezone.now(), MARGIN)
    assert a_call("ringing", 30 + 46).needs_fetching(timezone.now(), MARGIN)


def test_an_answered_call_is_fetched_once_its_stream_shows_no_life_for_the_margin():
    assert not a_call("in-progress", 44, answered_seconds_ago=600).needs_fetching(timezone.now(), MARGIN)
    assert a_call("in-progress", 46, answered_seconds_ago=60).needs_fetching(timezone.now(), MARGIN)


def test_an_answered_call_past_its_time_limit_is_fetched_whatever_its_stream_says(settings):
    settings.TWILIO_TIME_LIMIT_SECONDS = 600
    assert a_call("in-progress", 1, answered_seconds_ago=600 + 46).needs_fetching(timezone.now(), MARGIN)
