"""The circuit breaker through the emulator: a campaign whose calls fail pauses itself as
the failures come in (Twilio's status callbacks, not a later tick), says why, and links the
failing calls; calls that are busy or unanswered are the callees' doing and trip nothing."""

import time

import pytest

from calls.models import Call
from calls.tasks import dispatch_campaign
from campaigns import lifecycle
from campaigns.models import Campaign, CampaignEvent, Lead
from tests.dialer.conftest import make_campaign
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def status_of(campaign) -> str:
    campaign.refresh_from_db()
    return campaign.status


def test_a_campaign_whose_calls_fail_pauses_itself_within_the_window_and_says_why(
        emulator, worker, staff_client):
    numbers = [f"+1202555{n:02d}08" for n in range(8)]  # the emulator fails each (SIP 404)
    campaign = make_campaign(numbers, breaker_enabled=True, max_concurrent_calls=5, max_attempts=1)
    lifecycle.start(campaign)
    started = time.monotonic()

    dispatch_campaign.delay(campaign.pk)  # one tick, five dials: no tick after it judges anything
    wait_until(lambda: status_of(campaign) == Campaign.Status.PAUSED, timeout=30)

    assert time.monotonic() - started < campaign.breaker_window_seconds
    assert campaign.status_reason.startswith("Paused by the circuit breaker: 5 of the 5 calls")
    assert "5 failed" in campaign.status_reason
    event = CampaignEvent.objects.get(kind=CampaignEvent.Kind.PAUSED)
    assert event.by == CampaignEvent.By.BREAKER
    failing = Call.objects.filter(pk__in=event.call_ids)
    assert failing.count() == 5 and set(failing.values_list("status", flat=True)) == {Call.Status.FAILED}
    assert Lead.objects.filter(state=Lead.State.PENDING).count() == 3  # never dialled
    dialled = {call["to"] for call in emulator.calls()}
    assert len(dialled) == 5

    html = staff_client.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert "Paused by the circuit breaker: 5 of the 5 calls" in html
    for call_id in event.call_ids:
        assert f'href="/calls/{call_id}/"' in html


def test_busy_and_unanswered_calls_do_not_trip_it(emulator, worker):
    numbers = [f"+1202555{n:02d}0{4 + n % 2}" for n in range(6)]  # busy (04), no answer (05)
    campaign = make_campaign(numbers, breaker_enabled=True, max_concurrent_calls=6, max_attempts=1)
    lifecycle.start(campaign)

    dispatch_campaign.delay(campaign.pk)
    wait_until(lambda: status_of(campaign) == Campaign.Status.COMPLETED, timeout=30)

    assert not CampaignEvent.objects.filter(kind=CampaignEvent.Kind.PAUSED).exists()
