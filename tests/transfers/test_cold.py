"""A cold hand-off asked for (by the bot, or a staff member taking over): the live call is
redirected to ring an agent, or the request is refused with a reason the bot can act on."""

import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import pytest
from django.utils import timezone

from calls.models import Call, TransferAttempt
from calls.transfers import request_transfer, transfer_refusal
from campaigns.models import Campaign
from tests import factory
from tests.transfers.conftest import AGENT_1, AGENT_2, a_live_call, refreshed

pytestmark = pytest.mark.django_db


def dial_of(twiml: str) -> ET.Element:
    return ET.fromstring(twiml).find("./Dial")


def test_it_redirects_the_live_call_to_ring_the_first_agent_showing_the_calls_number(twilio, live_call):
    answer = request_transfer(live_call.pk, reason="interested", summary="Dana wants the gold plan.")

    assert (answer.started, answer.refusal) == (True, "")
    attempt = TransferAttempt.objects.get(call=live_call)
    assert (attempt.target, attempt.status, attempt.mode, attempt.requested_by) == (
        AGENT_1, "ringing", "cold", "bot")
    assert attempt.next_targets == [AGENT_2]
    dial = dial_of(twilio.twiml_of(live_call.call_sid))
    assert dial.get("callerId") == "+12025550100"
    assert dial.get("timeout") == "20"
    assert dial.get("action") == f"https://dialer.example.com/twilio/dial/{attempt.pk}/#rc=3&rp=all"
    assert [n.text for n in dial.findall("Number")] == [AGENT_1]
    assert refreshed(live_call).status == Call.Status.IN_PROGRESS


def test_round_robin_starts_each_hand_off_with_the_next_target(twilio, campaign):
    campaign.transfer_order = Campaign.TransferOrder.ROUND_ROBIN
    campaign.save()
    calls = [a_live_call(campaign) for _ in range(3)]

    for call in calls:
        assert request_transfer(call.pk, reason="asked for a person", summary="").started

    firsts = [TransferAttempt.objects.get(call=call) for call in calls]
    assert [(a.target, a.next_targets) for a in firsts] == [
        (AGENT_1, [AGENT_2]), (AGENT_2, [AGENT_1]), (AGENT_1, [AGENT_2])]


def test_outside_agent_hours_it_does_not_transfer_and_says_when_agents_are_back(twilio, campaign, live_call):
    today = datetime.now(UTC).strftime("%a").lower()
    campaign.agent_timezone = "UTC"
    campaign.agent_hours = {today: ["00:00", "00:01"]}  # closed for the rest of today
    campaign.save()

    answer = request_transfer(live_call.pk, reason="interested", summary="")

    assert (answer.started, answer.refusal) == (False, "outside_agent_hours")
    assert answer.agents_open_at is not None and answer.agents_open_at > timezone.now()
    assert answer.agents_open_at.astimezone(UTC).strftime("%a %H:%M").lower() == f"{today} 00:00"
    assert not TransferAttempt.objects.exists() and twilio.updates == []


def test_a_campaign_without_targets_refuses(twilio, campaign, live_call):
    campaign.transfer_targets = []
    campaign.save()

    assert request_transfer(live_call.pk, reason="", summary="").refusal == "no_transfer_targets"
    assert twilio.updates == []


def test_a_call_that_is_not_live_or_already_ringing_an_agent_refuses(twilio, campaign, live_call):
    over = factory.call(factory.lead(campaign), status=Call.Status.COMPLETED)
    assert request_transfer(over.pk, reason="", summary="").refusal == "not_live"

    assert request_transfer(live_call.pk, reason="", summary="").started
    assert request_transfer(live_call.pk, reason="again", summary="").refusal == "not_live"
    assert TransferAttempt.objects.filter(call=live_call).count() == 1


def test_the_bot_can_ask_whether_a_transfer_would_be_refused_without_starting_it(twilio, campaign, live_call):
    assert transfer_refusal(live_call.pk) is None  # within hours, with targets: it could start
    today = datetime.now(UTC).strftime("%a").lower()
    campaign.agent_timezone, campaign.agent_hours = "UTC", {today: ["00:00", "00:01"]}
    campaign.save()

    closed = transfer_refusal(live_call.pk)

    assert (closed.started, closed.refusal) == (False, "outside_agent_hours")
    assert closed.agents_open_at == request_transfer(live_call.pk, reason="", summary="").agents_open_at
    campaign.transfer_targets = []
    campaign.save()
    assert transfer_refusal(live_call.pk).refusal == "no_transfer_targets"
    over = factory.call(factory.lead(campaign), status=Call.Status.COMPLETED)
    assert transfer_refusal(over.pk).refusal == "not_live"
    assert not TransferAttempt.objects.exists() and twilio.updates == []  # nothing was started
    assert refreshed(live_call).status == Call.Status.IN_PROGRESS


def test_twilio_refusing_the_redirect_is_a_failed_transfer_the_bot_carries_on_from(twilio, live_call):
    twilio.refuse_update = 21220

    answer = request_transfer(live_call.pk, reason="interested", summary="")

    assert (answer.started, answer.refusal) == (False, "failed")
    attempt = TransferAttempt.objects.get(call=live_call)
    assert attempt.status == "failed" and "21220" in attempt.error and attempt.ended_at
    # Nothing is left ringing: the bot may ask again.
    twilio.refuse_update = None
    assert request_transfer(live_call.pk, reason="interested", summary="").started


def test_a_call_that_ended_meanwhile_is_not_live(twilio, live_call):
    twilio.refuse_update = 20404
    assert request_transfer(live_call.pk, reason="", summary="").refusal == "not_live"


def test_a_staff_member_taking_over_is_rung_at_any_hour_even_without_targets(twilio, campaign, live_call):
    campaign.transfer_targets, campaign.agent_hours = [], {"mon": [], "tue": []}
    campaign.transfer_mode = Campaign.TransferMode.WARM  # a take-over is always cold
    campaign.save()

    answer = request_transfer(live_call.pk, reason="taken over", summary="", requested_by="alice",
                              to_number="+12025550177")

    assert answer.started
    attempt = TransferAttempt.objects.get(call=live_call)
    assert (attempt.target, attempt.mode, attempt.requested_by, attempt.next_targets) == (
        "+12025550177", "cold", "alice", [])
    dial = dial_of(twilio.twiml_of(live_call.call_sid))
    assert [n.text for n in dial.findall("Number")] == ["+12025550177"]
