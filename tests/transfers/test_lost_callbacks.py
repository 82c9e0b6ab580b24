"""A hand-off whose callbacks were lost (the <Dial>'s answered callback or action, the
conference's join, the agent leg's status) converges by itself: the reaper settles an
attempt still ringing past its agent's ring timeout plus the margin from Twilio's records
of the agent's leg."""

from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.utils import timezone

from calls.dialer import reaper
from calls.models import TransferAttempt
from calls.transfers import agent_briefed, request_transfer
from campaigns.models import Campaign, Disposition
from tests.transfers.conftest import AGENT_1, AGENT_2, refreshed

pytestmark = pytest.mark.django_db


def past_the_ring(attempt: TransferAttempt):
    """Just after the attempt's agent ring timeout (20 s) plus the reaper's margin."""
    return attempt.created_at + timedelta(seconds=20) + reaper.RECONCILE_MARGIN + timedelta(seconds=1)


def leg(call, to: str, status: str, duration=None) -> SimpleNamespace:
    return SimpleNamespace(sid="CA" + "d" * 32, parent=call.call_sid, to=to, status=status, duration=duration)


@pytest.fixture
def cold(twilio, live_call):
    request_transfer(live_call.pk, reason="interested", summary="")
    return TransferAttempt.objects.get(call=live_call)


@pytest.fixture
def warm(twilio, campaign, live_call):
    campaign.transfer_mode = Campaign.TransferMode.WARM
    campaign.save()
    request_transfer(live_call.pk, reason="interested", summary="")
    return TransferAttempt.objects.get(call=live_call)


def test_it_finds_the_cold_agent_who_answered_though_their_answer_was_not_heard(twilio, cold, live_call):
    twilio.children.append(leg(live_call, AGENT_1, "in-progress"))

    reaper.reap(now=timezone.now())
    assert refreshed(cold).status == "ringing"  # not overdue yet

    reaper.reap(now=past_the_ring(cold))
    assert refreshed(cold).status == "answered"
    call = refreshed(live_call)
    assert (call.disposition, call.transferred_to) == (Disposition.TRANSFERRED, AGENT_1)


def test_a_cold_agent_who_did_not_answer_passes_it_on_though_the_action_was_lost(twilio, cold, live_call):
    twilio.children.append(leg(live_call, AGENT_1, "no-answer"))

    reaper.reap(now=past_the_ring(cold))

    first, second = live_call.transfers.all()
    assert (first.status, second.status, second.target) == ("no_answer", "ringing", AGENT_2)
    assert f">{AGENT_2}</Number>" in twilio.twiml_of(live_call.call_sid)


def test_a_briefed_warm_agent_whose_join_was_lost_has_taken_the_call(twilio, warm, live_call):
    agent = refreshed(warm).agent_call
    agent_briefed(agent.pk)  # moved into the room; the room's participant-join is lost
    twilio.statuses[agent.call_sid] = "in-progress"

    reaper.reap(now=past_the_ring(warm))

    assert refreshed(warm).status == "answered"
    call = refreshed(live_call)
    assert (call.disposition, call.transferred_to) == (Disposition.TRANSFERRED, AGENT_1)


def test_a_warm_agent_still_being_briefed_is_left_alone(twilio, warm, live_call):
    twilio.statuses[refreshed(warm).agent_call_sid] = "in-progress"

    reaper.reap(now=past_the_ring(warm))

    assert refreshed(warm).status == "ringing"
