"""The last look before a dial: the do-not-call list, the campaign's status and end time and
the callee's calling window are checked in the transaction that marks the dial, so a number
put on the list (or a campaign paused) while its claimed dial waits is never called. A dial
refused there gives the attempt back, with the reason on the lead. So does a dial that
waited too long for a calls-per-second token.

No emulator here: TWILIO_API_BASE_URL leads nowhere, and a dial that went out would show as
the call's dial_requested_at."""

import threading
from datetime import timedelta

import pytest
from django.utils import timezone

from calls import tasks
from calls.dialer import placing
from calls.dialer.claiming import claim_due_leads
from calls.dialer.pacing import account_pacer
from calls.dialer.placing import place_call
from calls.models import Call
from campaigns import lifecycle
from campaigns.models import Campaign, DoNotCall, Lead
from tests.dialer.conftest import hold_open, in_threads, make_campaign
from tests.waiting import sessions_waiting_on_a_lock, wait_until

pytestmark = pytest.mark.django_db(transaction=True)
NUMBERS = [f"+120255501{n}" for n in range(11, 16)]


def claimed(numbers=NUMBERS, **options) -> list[int]:
    campaign = make_campaign(numbers, **options)
    lifecycle.start(campaign)
    call_ids = claim_due_leads(campaign.pk)
    assert len(call_ids) == len(numbers)
    return call_ids


def given_back(reason_words: str) -> None:
    for lead in Lead.objects.all():
        assert lead.state == Lead.State.RETRY and lead.attempts == 0, lead
        assert reason_words in lead.last_error
    for call in Call.objects.all():
        assert call.status == Call.Status.FAILED and call.dial_requested_at is None
        assert reason_words in call.error_message


def test_numbers_put_on_the_list_while_their_dials_wait_for_a_token_are_not_called(clean_pacer, settings):
    call_ids = claimed()
    settings.TWILIO_CALLS_PER_SECOND = 2
    assert account_pacer().try_take() == 0  # every dial now waits for its token
    dials = in_threads(place_call, *[(call_id,) for call_id in call_ids])
    DoNotCall.objects.add(NUMBERS, reason="Asked by email")
    for dial in dials:
        dial.join()
    given_back("do-not-call list")


@pytest.mark.parametrize("write", ["do_not_call", "pause"])
def test_a_write_in_flight_makes_the_dial_wait_and_is_then_seen(clean_pacer, write):
    [call_id] = claimed(NUMBERS[:1])
    campaign = Campaign.objects.get()
    writes = {"do_not_call": lambda: DoNotCall.objects.add(NUMBERS[:1]),
              "pause": lambda: lifecycle.pause(campaign)}
    written, release = threading.Event(), threading.Event()
    [writer] = in_threads(hold_open, (writes[write], written, release))
    assert written.wait(timeout=10)
    [dial] = in_threads(place_call, (call_id,))
    try:
        wait_until(sessions_waiting_on_a_lock, timeout=10)  # the mark waits for the write
    finally:
        release.set()
        writer.join()
        dial.join()
    given_back("do-not-call list" if write == "do_not_call" else "campaign was paused")


def test_a_campaign_cancelled_before_the_dial_cancels_the_lead():
    [call_id] = claimed(NUMBERS[:1])
    lifecycle.cancel(Campaign.objects.get())
    place_call(call_id)
    lead = Lead.objects.get()
    assert lead.state == Lead.State.CANCELLED and lead.attempts == 0
    assert "campaign was cancelled" in lead.last_error
    assert Call.objects.get().dial_requested_at is None


def test_a_campaign_whose_end_time_passed_is_not_dialled():
    [call_id] = claimed(NUMBERS[:1])
    Campaign.objects.update(ends_at=timezone.now() - timedelta(seconds=1))
    place_call(call_id)
    given_back("end time passed")


def test_a_redelivered_dial_of_a_refused_call_does_nothing():
    [call_id] = claimed(NUMBERS[:1])
    DoNotCall.objects.add(NUMBERS[:1])
    place_call(call_id)
    DoNotCall.objects.remove(NUMBERS[:1])
    place_call(call_id)  # the task delivered again, the number allowed again meanwhile
    given_back("do-not-call list")


def test_the_reason_shows_on_the_leads_row_in_the_dashboard(staff_client):
    [call_id] = claimed(NUMBERS[:1])
    DoNotCall.objects.add(NUMBERS[:1])
    place_call(call_id)
    page = staff_client.get(f"/campaigns/{Campaign.objects.get().pk}/")
    assert "the number was put on the do-not-call list before the call was placed" in page.content.decode()


@pytest.fixture
def cps_taken_for_long(settings, clean_pacer, monkeypatch):
    settings.TWILIO_CALLS_PER_SECOND = 0.01  # the next token in 100 s
    assert account_pacer().try_take() == 0
    monkeypatch.setattr(placing, "PACER_WAIT_SECONDS", 0.05)


def test_a_dial_that_waited_too_long_for_a_token_is_given_back(cps_taken_for_long):
    [call_id] = claimed(NUMBERS[:1])
    with pytest.raises(placing.PacerBusy):  # a fresh dial waits its turn
        place_call(call_id)
    Call.objects.update(created_at=timezone.now() - placing.TOKEN_PATIENCE)
    place_call(call_id)
    given_back("no calls-per-second token came for 5 minutes")


def test_the_dial_tasks_retries_are_bounded_and_a_later_try_gives_the_attempt_back(cps_taken_for_long):
    [call_id] = claimed(NUMBERS[:1])
    result = tasks.place_call.apply(args=(call_id,))  # eager: every retry runs at once, in turn
    assert isinstance(result.result, placing.PacerBusy)  # it stopped retrying, still not dialled
    assert Call.objects.get().dial_requested_at is None
    # Minutes later the reaper sends the never-placed call again: now it is given back.
    Call.objects.update(created_at=timezone.now() - placing.TOKEN_PATIENCE)
    assert tasks.place_call.apply(args=(call_id,)).successful()
    given_back("no calls-per-second token came")
