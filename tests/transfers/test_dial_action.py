"""The <Dial> action of a cold hand-off: Twilio tells us how the agent's leg went, and our
answer decides what the caller hears next. Signed like every webhook."""

import xml.etree.ElementTree as ET

import pytest

from calls.dialer import settling
from calls.models import Call, TransferAttempt
from calls.transfers import request_transfer
from campaigns.models import Disposition, Lead
from tests.transfers.conftest import AGENT_1, AGENT_2, refreshed

pytestmark = pytest.mark.django_db
AGENT_LEG = "CA" + "d" * 32


@pytest.fixture
def ringing(twilio, live_call):
    """Dana's call is ringing the first agent."""
    assert request_transfer(live_call.pk, reason="interested", summary="Wants gold.").started
    return TransferAttempt.objects.get(call=live_call)


def action(attempt, dial_status, **extra):
    return {"CallSid": attempt.call.call_sid, "AccountSid": "AC" + "0" * 32, "CallStatus": "in-progress",
            "DialCallStatus": dial_status, "DialCallSid": AGENT_LEG, **extra}


def test_an_agent_who_answered_takes_the_call_and_it_ends_with_them(twilio_post, ringing, live_call):
    response = twilio_post(f"/twilio/dial/{ringing.pk}/", action(ringing, "completed", DialCallDuration="95"))

    assert response.status_code == 200 and response["Content-Type"].startswith("text/xml")
    assert ET.fromstring(response.content).findall("*") == []  # nothing more: the call ends
    attempt = refreshed(ringing)
    assert (attempt.status, attempt.agent_call_sid, attempt.duration_secs) == ("answered", AGENT_LEG, 95)
    assert attempt.answered_at and attempt.ended_at
    call = refreshed(live_call)
    assert (call.disposition, call.transferred_to) == (Disposition.TRANSFERRED, AGENT_1)
    assert Lead.objects.get(pk=call.lead_id).last_outcome == Disposition.TRANSFERRED


def test_an_agent_who_did_not_answer_passes_the_call_to_the_next(twilio_post, ringing, live_call):
    response = twilio_post(f"/twilio/dial/{ringing.pk}/", action(ringing, "no-answer"))

    following = TransferAttempt.objects.exclude(pk=ringing.pk).get(call=live_call)
    dial = ET.fromstring(response.content).find("./Dial")
    assert [n.text for n in dial.findall("Number")] == [AGENT_2]
    assert dial.get("action").startswith(f"https://dialer.example.com/twilio/dial/{following.pk}/")
    assert refreshed(ringing).status == "no_answer"
    assert (following.target, following.status, following.reason) == (AGENT_2, "ringing", "interested")


def test_when_no_agent_answered_the_caller_is_back_with_the_bot(twilio_post, ringing, live_call):
    twilio_post(f"/twilio/dial/{ringing.pk}/", action(ringing, "busy"))
    following = TransferAttempt.objects.exclude(pk=ringing.pk).get(call=live_call)

    response = twilio_post(f"/twilio/dial/{following.pk}/", action(following, "no-answer"))

    stream = ET.fromstring(response.content).find("./Connect/Stream")
    parameters = {p.get("name"): p.get("value") for p in stream.findall("Parameter")}
    assert stream.get("url") == "wss://dialer.example.com/twilio/stream/"
    assert parameters["resume"] == "agent_unavailable"
    assert parameters["transfer_unanswered"] == "offer_callback"
    assert parameters["call_id"] == str(live_call.pk)
    assert [a.status for a in live_call.transfers.all()] == ["busy", "no_answer"]
    assert refreshed(live_call).disposition != Disposition.TRANSFERRED


def test_a_repeated_action_is_answered_the_same(twilio_post, ringing, live_call):
    first = twilio_post(f"/twilio/dial/{ringing.pk}/", action(ringing, "no-answer"))
    again = twilio_post(f"/twilio/dial/{ringing.pk}/", action(ringing, "no-answer"))

    assert first.content == again.content
    assert live_call.transfers.count() == 2


def test_a_caller_who_hung_up_while_the_agent_rang_is_not_rung_on(twilio_post, ringing, live_call):
    response = twilio_post(f"/twilio/dial/{ringing.pk}/", action(ringing, "canceled", CallStatus="completed"))

    assert ET.fromstring(response.content).findall("*") == []
    assert refreshed(ringing).status == "canceled"
    assert live_call.transfers.count() == 1


def test_a_forged_dial_action_is_refused_and_changes_nothing(twilio_post, ringing, live_call):
    response = twilio_post(f"/twilio/dial/{ringing.pk}/", action(ringing, "completed"), signature="forged")

    assert response.status_code == 403
    assert refreshed(ringing).status == "ringing"
    assert refreshed(live_call).disposition == ""


def test_an_unknown_transfer_is_not_found(twilio_post, ringing):
    response = twilio_post("/twilio/dial/999999/", action(ringing, "completed"))
    assert response.status_code == 404


def test_a_malformed_action_is_a_bad_request(twilio_post, ringing):
    response = twilio_post(f"/twilio/dial/{ringing.pk}/", action(ringing, "exploded"))
    assert response.status_code == 400 and refreshed(ringing).status == "ringing"


def test_the_caller_still_on_the_line_keeps_its_call_live(twilio_post, ringing, live_call):
    twilio_post(f"/twilio/dial/{ringing.pk}/", action(ringing, "no-answer"))
    assert refreshed(live_call).status == Call.Status.IN_PROGRESS



def test_the_agent_answering_shows_the_call_transferred_while_they_talk(
        twilio, twilio_post, ringing, live_call):
    number = ET.fromstring(twilio.twiml_of(live_call.call_sid)).find("./Dial/Number")
    assert number.get("statusCallbackEvent") == "answered"
    assert number.get("statusCallback") == (
        f"https://dialer.example.com/twilio/dial/{ringing.pk}/answered/#rc=3&rp=all")

    response = twilio_post(f"/twilio/dial/{ringing.pk}/answered/", {
        "CallSid": AGENT_LEG, "ParentCallSid": live_call.call_sid, "CallStatus": "in-progress"})

    assert response.status_code == 204
    attempt = refreshed(ringing)
    assert (attempt.status, attempt.agent_call_sid, attempt.ended_at) == ("answered", AGENT_LEG, None)
    call = refreshed(live_call)
    assert (call.disposition, call.transferred_to, call.status) == (
        Disposition.TRANSFERRED, AGENT_1, Call.Status.IN_PROGRESS)

    # The conversation over, the action fills in how long it lasted; the call then ends.
    response = twilio_post(f"/twilio/dial/{ringing.pk}/", action(ringing, "completed", DialCallDuration="61"))
    assert ET.fromstring(response.content).findall("*") == []
    attempt = refreshed(ringing)
    assert (attempt.status, attempt.duration_secs) == ("answered", 61) and attempt.ended_at


def test_a_forged_answer_is_refused(twilio_post, ringing, live_call):
    response = twilio_post(f"/twilio/dial/{ringing.pk}/answered/", {
        "CallSid": AGENT_LEG, "CallStatus": "in-progress"}, signature="forged")
    assert response.status_code == 403 and refreshed(ringing).status == "ringing"


def test_an_agents_call_settles_its_lead_as_transferred_whatever_the_bot_said_last(
        twilio_post, ringing, live_call):
    twilio_post(f"/twilio/dial/{ringing.pk}/answered/", {"CallSid": AGENT_LEG, "CallStatus": "in-progress"})
    settling.record_outcome(live_call.lead_id, Disposition.INTERESTED)  # the bot's summary, late

    Call.objects.filter(pk=live_call.pk).update(status=Call.Status.COMPLETED)
    settling.settle_calls([live_call.pk])

    lead = Lead.objects.get(pk=live_call.lead_id)
    assert (lead.state, lead.last_outcome) == (Lead.State.DONE, Disposition.TRANSFERRED)
