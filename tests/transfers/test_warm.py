"""A warm hand-off: the agent is rung as a call of its own and briefed by the bot while the
caller holds in a conference; the agent joining decides it, an agent leg that ends first
passes it on, and with nobody left the caller is back with the bot."""

import xml.etree.ElementTree as ET

import pytest

from calls.dialer.pacing import SENDS_KEY, send_pacer
from calls.models import Call, TransferAttempt
from calls.status import StatusCallback, apply_status_callbacks
from calls.transfers import agent_briefed, conference_event, request_transfer
from campaigns.models import Campaign, Disposition, Lead
from tests.transfers.conftest import AGENT_1, AGENT_2, refreshed

pytestmark = pytest.mark.django_db


@pytest.fixture
def warm(campaign):
    campaign.transfer_mode = Campaign.TransferMode.WARM
    campaign.save()
    return campaign


@pytest.fixture
def holding(twilio, warm, live_call):
    """Dana holds in the conference while the first agent is rung."""
    answer = request_transfer(live_call.pk, reason="interested", summary="Dana wants the gold plan.")
    assert answer.started
    return TransferAttempt.objects.get(call=live_call)


def agent_status(agent: Call, status: str, sequence: int, **extra) -> None:
    apply_status_callbacks([StatusCallback(
        {"CallSid": agent.call_sid, "CallStatus": status, "SequenceNumber": sequence, **extra},
        {"CallStatus": status}, str(agent.pk))])


def parameters_of(twiml: str) -> dict:
    stream = ET.fromstring(twiml).find("./Connect/Stream")
    return {p.get("name"): p.get("value") for p in stream.findall("Parameter")}


def test_the_agent_is_rung_as_its_own_call_whose_bot_briefs_them(twilio, holding, live_call):
    agent = refreshed(holding).agent_call
    assert (agent.transfer_of, agent.to_number, agent.from_number) == (live_call, AGENT_1, "+12025550100")
    assert agent.lead is None and agent.customer is None
    created = twilio.created[0]
    assert (created["to"], created["from_"], created["timeout"]) == (AGENT_1, "+12025550100", 20)
    assert created["status_callback"].startswith(f"https://dialer.example.com/twilio/status/?call_id={agent.pk}")
    assert parameters_of(created["twiml"]) == {
        "role": "agent_briefing", "transfer_of": str(live_call.pk), "reason": "interested",
        "summary": "Dana wants the gold plan.", "call_id": str(agent.pk)}
    assert refreshed(holding).agent_call_sid == agent.call_sid


def test_the_caller_holds_in_the_conference_with_music(twilio, holding, live_call):
    conference = ET.fromstring(twilio.twiml_of(live_call.call_sid)).find("./Dial/Conference")
    assert conference.text == f"transfer-{holding.pk}"
    assert conference.get("waitUrl") == "http://twimlets.com/holdmusic?Bucket=com.twilio.music.classical"
    assert conference.get("startConferenceOnEnter") == "false"
    assert conference.get("endConferenceOnExit") == "true"
    assert conference.get("statusCallback").startswith(f"https://dialer.example.com/twilio/conference/{holding.pk}/")


def test_once_briefed_the_agent_joins_the_conference_and_takes_the_call(twilio, holding, live_call):
    agent = refreshed(holding).agent_call
    agent_status(agent, "in-progress", 2)

    agent_briefed(agent.pk)

    conference = ET.fromstring(twilio.twiml_of(agent.call_sid)).find("./Dial/Conference")
    assert (conference.text, conference.get("startConferenceOnEnter")) == (f"transfer-{holding.pk}", "true")
    assert refreshed(holding).status == "ringing"  # until the agent is in the room
    conference_event(holding.pk, {"StatusCallbackEvent": "participant-join", "CallSid": agent.call_sid})
    attempt = refreshed(holding)
    assert attempt.status == "answered" and attempt.answered_at
    call = refreshed(live_call)
    assert (call.disposition, call.transferred_to) == (Disposition.TRANSFERRED, AGENT_1)
    assert Lead.objects.get(pk=call.lead_id).last_outcome == Disposition.TRANSFERRED

    conference_event(holding.pk, {"StatusCallbackEvent": "conference-end"})
    assert refreshed(holding).ended_at is not None


def test_an_agent_who_does_not_answer_passes_it_on_and_then_the_caller_is_back_with_the_bot(
        twilio, holding, live_call):
    agent_status(refreshed(holding).agent_call, "no-answer", 3)

    first, second = live_call.transfers.all()
    assert (first.status, second.status, second.target) == ("no_answer", "ringing", AGENT_2)
    assert second.conference == first.conference  # the caller holds on in the same room
    assert [c["to"] for c in twilio.created] == [AGENT_1, AGENT_2]

    agent_status(refreshed(second).agent_call, "busy", 3)

    assert refreshed(second).status == "busy"
    back = parameters_of(twilio.twiml_of(live_call.call_sid))
    assert (back["resume"], back["call_id"]) == ("agent_unavailable", str(live_call.pk))
    assert refreshed(live_call).status == Call.Status.IN_PROGRESS


def test_an_agent_who_hangs_up_during_the_briefing_counts_as_gone_before_joining(twilio, warm, live_call):
    warm.transfer_targets = [AGENT_1]
    warm.save()
    request_transfer(live_call.pk, reason="interested", summary="")
    agent = TransferAttempt.objects.get(call=live_call).agent_call
    agent_status(agent, "in-progress", 2)

    agent_status(agent, "completed", 3, CallDuration=4)

    assert live_call.transfers.get().status == "hung_up_before_join"
    assert parameters_of(twilio.twiml_of(live_call.call_sid))["resume"] == "agent_unavailable"


def test_a_caller_who_hangs_up_while_holding_ends_the_agents_leg(twilio, holding, live_call):
    agent = refreshed(holding).agent_call
    apply_status_callbacks([StatusCallback(
        {"CallSid": live_call.call_sid, "CallStatus": "completed", "SequenceNumber": 9}, {}, None)])

    assert refreshed(holding).status == "canceled"
    assert (agent.call_sid, {"status": "completed"}) in twilio.updates
    agent_status(agent, "completed", 3)  # the agent's leg then ends: nothing more happens
    assert live_call.transfers.count() == 1


def test_an_agent_call_twilio_refuses_leaves_the_caller_with_the_bot(twilio, warm, live_call):
    twilio.refuse_create = 21215

    answer = request_transfer(live_call.pk, reason="interested", summary="")

    assert (answer.started, answer.refusal) == (False, "failed")
    attempt = live_call.transfers.get()
    assert attempt.status == "failed" and "21215" in attempt.error
    assert attempt.agent_call.status == Call.Status.FAILED
    assert twilio.updates == []  # the caller was never moved


def test_the_agents_call_counts_against_the_accounts_calls_per_second(settings, twilio, warm, live_call):
    settings.TWILIO_CALLS_PER_SECOND = 1
    send_pacer().redis.delete(SENDS_KEY)  # this second's token is there to take
    assert request_transfer(live_call.pk, reason="interested", summary="Dana wants the gold plan.").started
    assert send_pacer().try_take() > 0  # the agent's dial took it


def test_agent_legs_count_in_no_campaign_figure(holding, live_call):
    assert list(Call.objects.counted()) == [live_call]


def test_the_conference_callback_is_signed_like_every_webhook(twilio_post, holding, live_call):
    agent_sid = refreshed(holding).agent_call_sid
    joined = {"ConferenceSid": "CF" + "a" * 32, "FriendlyName": holding.conference,
              "StatusCallbackEvent": "participant-join", "CallSid": agent_sid}

    forged = twilio_post(f"/twilio/conference/{holding.pk}/", joined, signature="forged")
    assert forged.status_code == 403 and refreshed(holding).status == "ringing"

    signed = twilio_post(f"/twilio/conference/{holding.pk}/", joined)
    assert signed.status_code == 204
    assert refreshed(holding).status == "answered"
    assert refreshed(live_call).disposition == Disposition.TRANSFERRED
    assert twilio_post("/twilio/conference/999999/", joined).status_code == 404


def second_agent_holding(holding) -> TransferAttempt:
    """The first agent did not answer: the second is rung while Dana holds on in the room."""
    agent_status(refreshed(holding).agent_call, "no-answer", 3)
    return TransferAttempt.objects.get(call=holding.call, target=AGENT_2)


def test_the_second_agent_joining_takes_the_call_though_the_room_reports_to_the_first_attempt(
        twilio_post, twilio, holding, live_call):
    # Twilio sends the conference's events to the statusCallback of the participant that
    # created it: Dana, who entered with the first attempt's URL.
    second = second_agent_holding(holding)
    agent = refreshed(second).agent_call
    agent_status(agent, "in-progress", 2)
    agent_briefed(agent.pk)
    joined = {"ConferenceSid": "CF" + "b" * 32, "FriendlyName": holding.conference,
              "StatusCallbackEvent": "participant-join", "CallSid": agent.call_sid}

    assert twilio_post(f"/twilio/conference/{holding.pk}/", joined).status_code == 204

    assert (refreshed(holding).status, refreshed(second).status) == ("no_answer", "answered")
    call = refreshed(live_call)
    assert (call.disposition, call.transferred_to) == (Disposition.TRANSFERRED, AGENT_2)

    ended = {**joined, "StatusCallbackEvent": "conference-end"}
    assert twilio_post(f"/twilio/conference/{holding.pk}/", ended).status_code == 204
    assert refreshed(second).ended_at is not None


def test_a_caller_who_leaves_the_room_while_the_second_agent_is_rung_ends_that_agents_leg(
        twilio_post, twilio, holding, live_call):
    second = second_agent_holding(holding)
    agent_sid = refreshed(second).agent_call_sid
    left = {"ConferenceSid": "CF" + "c" * 32, "FriendlyName": holding.conference,
            "StatusCallbackEvent": "participant-leave", "CallSid": live_call.call_sid}

    assert twilio_post(f"/twilio/conference/{holding.pk}/", left).status_code == 204

    assert refreshed(second).status == "canceled"
    assert (agent_sid, {"status": "completed"}) in twilio.updates
