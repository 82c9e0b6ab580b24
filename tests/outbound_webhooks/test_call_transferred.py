"""call.transferred: written when an agent answers a hand-off, in the transaction that
records it, once per call, with who answered, the mode, the reason and the summary."""

import json

import pytest

from calls import transfers
from calls.models import Call, TransferAttempt
from campaigns.webhooks.models import Delivery, Event
from tests.outbound_webhooks.conftest import subscribe

pytestmark = pytest.mark.django_db
CRM = "https://crm.example.com/hooks"
AGENT, AGENT_SID = "+12025550181", "CA" + "a" * 32


@pytest.fixture
def handing_off(lead):
    """Ann's live call, ringing an agent for her."""
    call = Call.objects.create(direction="outbound", campaign=lead.campaign, customer=lead.customer,
                               lead=lead, call_sid="CA" + "1" * 32, to_number=lead.customer.phone,
                               from_number="+12025550100", status="in-progress")
    return TransferAttempt.objects.create(call=call, target=AGENT, mode="cold", requested_by="bot",
                                          reason="interested", summary='Caller said: "I want the gold plan"')


def sent() -> list[dict]:
    return [json.loads(e.body) for e in Event.objects.filter(type="call.transferred")]


def test_the_agent_answering_tells_who_answered_how_and_why(handing_off, lead):
    subscribe(CRM, "call.transferred")

    assert transfers.agent_answered(handing_off.pk, AGENT_SID)

    [body] = sent()
    assert body["type"] == "call.transferred"
    transfer = body["data"]["transfer"]
    assert {key: transfer[key] for key in ("agent", "mode", "requested_by", "reason", "summary",
                                           "agent_call_sid")} == {
        "agent": AGENT, "mode": "cold", "requested_by": "bot", "reason": "interested",
        "summary": 'Caller said: "I want the gold plan"', "agent_call_sid": AGENT_SID}
    assert transfer["answered_at"] and transfer["requested_at"]
    assert body["data"]["call"]["id"] == handing_off.call_id
    assert body["data"]["lead"]["variables"] == {"plan": "gold"}
    assert body["data"]["campaign"]["slug"] == "summer_sale"
    assert Delivery.objects.filter(event__type="call.transferred").count() == 1

    # The <Dial>'s action after the conversation, and Twilio repeating it: still one event.
    ended = {"DialCallStatus": "completed", "DialCallSid": AGENT_SID, "DialCallDuration": 40,
             "CallStatus": "in-progress"}
    transfers.dial_ended(handing_off.pk, ended)
    transfers.dial_ended(handing_off.pk, ended)
    assert len(sent()) == 1
    # call.ended names who took the call too.
    assert Call.objects.get(pk=handing_off.call_id).transferred_to == AGENT


def test_a_lost_answer_callback_still_tells_when_the_dial_ends(handing_off):
    subscribe(CRM, "call.transferred")
    transfers.dial_ended(handing_off.pk, {"DialCallStatus": "completed", "DialCallSid": AGENT_SID,
                                          "DialCallDuration": 40, "CallStatus": "in-progress"})
    [body] = sent()
    assert body["data"]["transfer"]["agent"] == AGENT


def test_an_agent_who_does_not_answer_tells_nothing(handing_off):
    subscribe(CRM, "call.transferred")
    transfers.dial_ended(handing_off.pk, {"DialCallStatus": "no-answer", "DialCallSid": AGENT_SID,
                                          "DialCallDuration": 0, "CallStatus": "in-progress"})
    assert sent() == []


def test_a_warm_agent_joining_the_conference_tells_it(handing_off):
    subscribe(CRM, "call.transferred")
    TransferAttempt.objects.filter(pk=handing_off.pk).update(mode="warm", agent_call_sid=AGENT_SID,
                                                              conference=f"transfer-{handing_off.pk}")
    transfers.conference_event(handing_off.pk, {"StatusCallbackEvent": "participant-join",
                                                "CallSid": AGENT_SID})
    [body] = sent()
    assert body["data"]["transfer"]["mode"] == "warm"


def test_nothing_is_written_for_an_endpoint_that_did_not_ask(handing_off):
    subscribe(CRM, "call.ended")
    transfers.agent_answered(handing_off.pk, AGENT_SID)
    assert not Event.objects.exists()
