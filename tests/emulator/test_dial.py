"""<Dial><Number>: the dialled leg is a call of its own, bridged, with a signed action."""

from __future__ import annotations

import pytest

from .conftest import APP_NUMBER

CALLER_ID = "+15005550100"
HOLD = "<Response><Pause length='30'/></Response>"


def dial(product, number: str, *, timeout: int = 5, action: str | None = "/dial-action",
         after: str = "") -> str:
    action_attribute = f" action='{product.url}{action}'" if action else ""
    return (f"<Response><Dial callerId='{CALLER_ID}' timeout='{timeout}'{action_attribute}>"
            f"<Number>{number}</Number></Dial>{after}</Response>")


def entries(snapshot, kind: str) -> list[dict]:
    return [e for e in snapshot["timeline"]["entries"] if e["kind"] == kind]


def leg_of(emulator, parent_sid: str) -> dict:
    (leg,) = [c for c in emulator.calls() if c["parent_call_sid"] == parent_sid]
    return leg


def test_a_cold_transfer_bridges_the_caller_to_the_agent_and_reports_to_the_action(
        client, emulator, product):
    product.twiml["/dial-action"] = "<Response><Say>Back with the bot</Say><Hangup/></Response>"
    call = client.calls.create(
        to="+15005550199", from_=APP_NUMBER,
        twiml=f"<Response><Connect><Stream url='{product.ws_url}/bot'/></Connect></Response>")
    product.wait_for(lambda: product.streams and product.streams[0].events("media"))

    client.calls(call.sid).update(twiml=dial(product, "+15005550204"))  # hangs up after 1.2 s

    session = product.streams[0]
    product.wait_for(lambda: session.closed_at is not None)
    assert len(session.events("stop")) == 1
    done = emulator.wait_for_status(call.sid, "completed", timeout=10)
    leg = leg_of(emulator, call.sid)
    assert leg["from"] == CALLER_ID and leg["to"] == "+15005550204"
    assert leg["direction"] == "outbound-dial" and leg["status"] == "completed"
    assert client.calls(leg["sid"]).fetch().parent_call_sid == call.sid
    assert leg["sid"] in [c.sid for c in client.calls.list(from_=CALLER_ID)]
    assert [c.sid for c in client.calls.list(parent_call_sid=call.sid)] == [leg["sid"]]

    (bridged,) = entries(done, "dial_bridged")
    assert bridged["text"] == f"bridged +15005550199 to +15005550204 from {CALLER_ID}"
    assert (bridged["caller"], bridged["number"], bridged["caller_id"]) == (
        "+15005550199", "+15005550204", CALLER_ID)
    (action,) = product.callbacks("/dial-action", call.sid)
    assert action.signature_valid
    assert action.params["DialCallStatus"] == "completed"
    assert action.params["DialCallSid"] == leg["sid"]
    assert action.params["DialBridged"] == "true"
    assert 1 <= int(action.params["DialCallDuration"]) <= 3
    assert action.params["CallStatus"] == "in-progress"
    kinds = [e["kind"] for e in done["timeline"]["entries"]]
    assert kinds.index("stream_ended") < kinds.index("dial") < kinds.index("dial_bridged")
    assert kinds.index("dial_ended") < kinds.index("twiml_say")
    assert done["end_reason"] == "<Hangup>"


@pytest.mark.parametrize(("agent", "status"), [
    ("+15005550202", "no-answer"),  # never answers: no-answer after the dial timeout
    ("+15005550203", "busy"),       # declines
    ("+15005550108", "failed"),     # cannot be reached
])
def test_an_agent_who_does_not_answer_sends_the_caller_back_to_the_bot(
        client, emulator, product, agent, status):
    product.twiml["/dial-action"] = (
        f"<Response><Connect><Stream url='{product.ws_url}/again'>"
        "<Parameter name='resume' value='agent_unavailable'/></Stream></Connect></Response>")
    call = client.calls.create(to="+15005550199", from_=APP_NUMBER,
                               twiml=dial(product, agent, timeout=1))

    (action,) = product.wait_for(lambda: product.callbacks("/dial-action", call.sid))
    assert action.signature_valid
    assert action.params["DialCallStatus"] == status
    assert action.params["DialCallDuration"] == "0"
    assert action.params["DialBridged"] == "false"
    session = product.wait_for(lambda: product.streams and product.streams[0].events("start")
                               and product.streams[0])
    assert session.events("start")[0]["start"]["customParameters"] == {
        "resume": "agent_unavailable"}
    leg = emulator.get_call(action.params["DialCallSid"])
    assert leg["status"] == status and leg["from"] == CALLER_ID
    assert not entries(emulator.get_call(call.sid), "dial_bridged")
    client.calls(call.sid).update(status="completed")


def test_without_an_action_the_call_goes_on_to_the_next_verb(client, emulator, product):
    call = client.calls.create(to="+15005550199", from_=APP_NUMBER, twiml=dial(
        product, "+15005550202", timeout=0.5, action=None, after="<Say>Nobody came</Say>"))

    done = emulator.wait_for_status(call.sid, "completed", timeout=10)

    assert entries(done, "twiml_say")[0]["text"] == "Nobody came"
    assert entries(done, "dial_ended")[0]["DialCallStatus"] == "no-answer"
    assert done["end_reason"] == "end of TwiML"


def test_the_caller_and_the_agent_hear_each_other(client, emulator, product):
    # The caller waits for someone to speak; the agent (nobody speaks to it) greets after
    # its first_turn_timeout; the caller answers the agent's greeting.
    call = client.calls.create(to="+15005550301", from_=APP_NUMBER,
                               twiml=dial(product, "+15005550201", action=None))
    leg = product.wait_for(lambda: [c for c in emulator.calls()
                                    if c["parent_call_sid"] == call.sid])[0]

    # The caller pressed 1 and 2 on the bridge: in-band, no stream to receive them.
    caller = product.wait_for(lambda: len(entries(emulator.get_call(call.sid),
                                                  "dtmf_over_bridge")) == 2
                              and emulator.get_call(call.sid))
    client.calls(call.sid).update(status="completed")

    agent = emulator.wait_for_status(leg["sid"], "completed", timeout=5)
    (said,) = entries(agent, "callee_say")
    assert said["text"] == "Hello, this is Sam." and said["after_bot_turn"] is False
    (answer,) = entries(caller, "callee_say")
    assert answer["text"] == "Hello there" and answer["after_bot_turn"] is True
    assert entries(caller, "dial_bridged")[0]["t"] < answer["t"]
    assert [e["digit"] for e in entries(caller, "dtmf_over_bridge")] == ["1", "2"]
    assert emulator.get_call(leg["sid"])["end_reason"] == "the caller's side of the <Dial> ended"


def test_a_caller_hanging_up_ends_the_agent_leg_and_still_requests_the_action(
        client, emulator, product):
    product.twiml["/dial-action"] = "<Response><Say>never heard</Say></Response>"
    call = client.calls.create(to="+15005550199", from_=APP_NUMBER,
                               twiml=dial(product, "+15005550201"))
    product.wait_for(lambda: entries(emulator.get_call(call.sid), "dial_bridged"))

    client.calls(call.sid).update(status="completed")

    (action,) = product.wait_for(lambda: product.callbacks("/dial-action", call.sid))
    assert action.signature_valid
    assert action.params["CallStatus"] == "completed"
    assert action.params["DialCallStatus"] == "completed"
    leg = emulator.get_call(action.params["DialCallSid"])
    assert leg["status"] == "completed"
    assert not entries(emulator.get_call(call.sid), "twiml_say")  # its TwiML is ignored


def test_several_numbers_ring_at_once_and_the_first_to_answer_wins(client, emulator, product):
    twiml = (f"<Response><Dial callerId='{CALLER_ID}' timeout='5'>"
             "<Number>+15005550202</Number><Number>(500) 555-0201</Number></Dial></Response>")
    call = client.calls.create(to="+15005550199", from_=APP_NUMBER, twiml=twiml)

    (bridged,) = product.wait_for(lambda: entries(emulator.get_call(call.sid), "dial_bridged"))

    assert bridged["number"] == "+15005550201"
    legs = {c["to"]: c for c in emulator.calls() if c["parent_call_sid"] == call.sid}
    assert set(legs) == {"+15005550202", "+15005550201"}
    emulator.wait_for_status(legs["+15005550202"]["sid"], "canceled", timeout=5)
    client.calls(call.sid).update(status="completed")


def test_a_numbers_status_callbacks_carry_the_parent_call(client, emulator, product):
    twiml = (f"<Response><Dial callerId='{CALLER_ID}'><Number statusCallback='{product.url}"
             "/leg-status' statusCallbackEvent='initiated ringing answered completed'>"
             "+15005550204</Number></Dial></Response>")
    call = client.calls.create(to="+15005550199", from_=APP_NUMBER, twiml=twiml)

    emulator.wait_for_status(call.sid, "completed", timeout=10)

    events = product.wait_for(lambda: len(product.callbacks("/leg-status")) == 4
                              and product.callbacks("/leg-status"))
    assert sorted(e.params["CallStatus"] for e in events) == sorted(
        ["initiated", "ringing", "in-progress", "completed"])
    assert {e.params["ParentCallSid"] for e in events} == {call.sid}
    assert {e.params["From"] for e in events} == {CALLER_ID}
    assert all(e.signature_valid for e in events)


def test_new_twiml_while_the_agent_rings_cancels_the_leg_without_an_action(
        client, emulator, product):
    call = client.calls.create(to="+15005550199", from_=APP_NUMBER,
                               twiml=dial(product, "+15005550202", timeout=20))
    leg = product.wait_for(lambda: [c for c in emulator.calls()
                                    if c["parent_call_sid"] == call.sid])[0]

    client.calls(call.sid).update(twiml="<Response><Say>Changed my mind</Say></Response>")

    emulator.wait_for_status(leg["sid"], "canceled", timeout=5)
    emulator.wait_for_status(call.sid, "completed", timeout=5)
    assert product.callbacks("/dial-action", call.sid) == []
