"""<Dial><Conference>, the Conferences and Participants REST resources, wait music."""

from __future__ import annotations

import requests

from .conftest import ACCOUNT_SID, APP_NUMBER, AUTH_TOKEN, BRIEFING, speaking_bot, stream_to

CALLER = "+15005550301"  # waits for whoever talks first, says "Hello there", presses 1 2
AGENT = "+15005550201"   # answers after 0.3 s, says "Hello, this is Sam."


def join(name: str, **attributes: str) -> str:
    action = attributes.pop("action", None)
    dial_attributes = f" action='{action}'" if action else ""
    rendered = "".join(f" {key}='{value}'" for key, value in attributes.items())
    return f"<Response><Dial{dial_attributes}><Conference{rendered}>{name}</Conference></Dial></Response>"


def entries(snapshot, kind: str) -> list[dict]:
    return [e for e in snapshot["timeline"]["entries"] if e["kind"] == kind]


def conference_named(emulator, name: str) -> dict:
    return next(c for c in reversed(emulator.conferences()) if c["friendly_name"] == name)


def events_of(product, path: str = "/conference-events") -> list[str]:
    ordered = sorted(product.callbacks(path), key=lambda r: int(r.params["SequenceNumber"]))
    return [r.params["StatusCallbackEvent"] for r in ordered]


def test_a_warm_transfer_holds_the_caller_then_joins_the_agent(client, emulator, product):
    product.twiml["/after-conference"] = "<Response><Say>Goodbye</Say></Response>"
    caller = client.calls.create(to=CALLER, from_=APP_NUMBER, twiml=join(
        "room-1", action=f"{product.url}/after-conference",
        statusCallback=f"{product.url}/conference-events",
        statusCallbackEvent="start end join leave"))
    waiting = product.wait_for(lambda: entries(emulator.get_call(caller.sid), "conference_wait"))
    assert waiting[0]["music"].startswith("tones")  # Twilio's default hold music, offline
    (listed,) = client.conferences.list(friendly_name="room-1")
    assert listed.status == "init"

    agent = client.calls.create(to=AGENT, from_=APP_NUMBER,
                                twiml=join("room-1", endConferenceOnExit="true"))
    said = product.wait_for(lambda: entries(emulator.get_call(caller.sid), "callee_say"),
                            timeout=10)

    assert said[0]["text"] == "Hello there" and said[0]["after_bot_turn"] is True
    conference = client.conferences(listed.sid).fetch()
    assert conference.status == "in-progress" and conference.friendly_name == "room-1"
    participants = client.conferences(listed.sid).participants.list()
    assert {p.call_sid for p in participants} == {caller.sid, agent.sid}
    assert {p.status for p in participants} == {"connected"}

    client.calls(agent.sid).update(status="completed")  # the agent hangs up: it ends the room

    (action,) = product.wait_for(lambda: product.callbacks("/after-conference", caller.sid))
    assert action.signature_valid
    assert action.params["DialCallStatus"] == "answered"
    assert action.params["ConferenceSid"] == listed.sid
    done = emulator.wait_for_status(caller.sid, "completed", timeout=10)
    assert entries(done, "twiml_say")[0]["text"] == "Goodbye"
    assert client.conferences(listed.sid).fetch().status == "completed"
    assert client.conferences(listed.sid).fetch().reason_conference_ended == (
        "participant-with-end-conference-on-exit-left")
    product.wait_for(lambda: len(product.callbacks("/conference-events")) == 6)
    assert events_of(product) == ["participant-join", "participant-join", "conference-start",
                                  "participant-leave", "participant-leave", "conference-end"]
    callbacks = product.callbacks("/conference-events")
    assert all(r.signature_valid for r in callbacks)
    assert {r.params["ConferenceSid"] for r in callbacks} == {listed.sid}
    assert {r.params["FriendlyName"] for r in callbacks} == {"room-1"}
    end = next(r for r in callbacks if r.params["StatusCallbackEvent"] == "conference-end")
    assert end.params["CallSidEndingConference"] == agent.sid


def test_the_participants_resource_dials_an_agent_into_the_room(client, emulator, product):
    caller = client.calls.create(to=CALLER, from_=APP_NUMBER, twiml=join("room-2"))
    product.wait_for(lambda: entries(emulator.get_call(caller.sid), "conference_wait"))

    added = client.conferences("room-2").participants.create(
        from_=APP_NUMBER, to=AGENT, label="agent", timeout=10,
        status_callback=f"{product.url}/agent-status", status_callback_event=["answered"])

    assert added.status == "queued" and added.label == "agent"
    room = conference_named(emulator, "room-2")
    assert added.conference_sid == room["sid"]
    agent = emulator.get_call(added.call_sid)
    assert agent["from"] == APP_NUMBER and agent["to"] == AGENT
    product.wait_for(lambda: client.conferences(room["sid"]).participants("agent").fetch()
                     .status == "connected")
    (answered,) = product.wait_for(lambda: product.callbacks("/agent-status", added.call_sid))
    assert answered.signature_valid and answered.params["CallStatus"] == "in-progress"
    said = product.wait_for(lambda: entries(emulator.get_call(caller.sid), "callee_say"),
                            timeout=10)
    assert said[0]["after_bot_turn"] is True  # the caller heard the agent

    assert client.conferences(room["sid"]).participants(added.call_sid).delete() is True

    emulator.wait_for_status(added.call_sid, "completed", timeout=5)
    remaining = client.conferences(room["sid"]).participants.list()
    assert [p.call_sid for p in remaining] == [caller.sid]
    client.calls(caller.sid).update(status="completed")
    product.wait_for(lambda: client.conferences(room["sid"]).fetch().status == "completed")


def test_an_agent_who_never_answers_leaves_the_caller_waiting(client, emulator, product):
    caller = client.calls.create(to=CALLER, from_=APP_NUMBER, twiml=join(
        "room-3", statusCallback=f"{product.url}/conference-events",
        statusCallbackEvent="join leave end"))
    product.wait_for(lambda: entries(emulator.get_call(caller.sid), "conference_wait"))

    added = client.conferences("room-3").participants.create(
        from_=APP_NUMBER, to="+15005550202", timeout=1)

    emulator.wait_for_status(added.call_sid, "no-answer", timeout=5)
    leave = product.wait_for(lambda: [r for r in product.callbacks("/conference-events")
                                      if r.params["StatusCallbackEvent"] == "participant-leave"])
    assert leave[0].params["CallSid"] == added.call_sid
    assert leave[0].params["ParticipantCallStatus"] == "no-answer"
    room = conference_named(emulator, "room-3")
    assert room["status"] == "init" and [p["call_sid"] for p in room["participants"]] == [
        caller.sid]
    assert emulator.get_call(caller.sid)["status"] == "in-progress"
    client.calls(caller.sid).update(status="completed")


def test_the_wait_url_twiml_plays_until_the_conference_starts(client, emulator, product):
    product.twiml["/hold"] = (f"<Response><Say>Please hold</Say><Play>{product.url}/song.mp3"
                              "</Play></Response>")
    caller = client.calls.create(to=CALLER, from_=APP_NUMBER,
                                 twiml=join("room-4", waitUrl=f"{product.url}/hold"))

    played = product.wait_for(lambda: entries(emulator.get_call(caller.sid),
                                              "conference_wait_play"))

    (hold,) = product.callbacks("/hold", caller.sid)[:1]
    assert hold.signature_valid and hold.params["FriendlyName"] == "room-4"
    assert hold.params["ConferenceSid"].startswith("CF")
    assert entries(emulator.get_call(caller.sid), "conference_wait_say")[0]["text"] == (
        "Please hold")
    assert played[0]["audio"].startswith("tones")  # an mp3 is not decoded: tones stand in
    client.calls(caller.sid).update(status="completed")


def test_ending_a_conference_through_rest_lets_each_call_go_on(client, emulator, product):
    caller = client.calls.create(
        to=CALLER, from_=APP_NUMBER,
        twiml=join("room-5", waitUrl="").replace("</Response>", "<Say>Still here</Say></Response>"))
    product.wait_for(lambda: entries(emulator.get_call(caller.sid), "conference_wait"))
    room = conference_named(emulator, "room-5")
    assert entries(emulator.get_call(caller.sid), "conference_wait")[0]["music"].startswith(
        "silence")

    ended = client.conferences(room["sid"]).update(status="completed")

    assert ended.status == "completed"
    done = emulator.wait_for_status(caller.sid, "completed", timeout=5)
    assert entries(done, "twiml_say")[0]["text"] == "Still here"
    assert client.conferences(room["sid"]).participants.list() == []


def test_muting_a_participant_is_reported(client, emulator, product):
    caller = client.calls.create(to=CALLER, from_=APP_NUMBER, twiml=join(
        "room-6", statusCallback=f"{product.url}/conference-events",
        statusCallbackEvent="mute"))
    product.wait_for(lambda: entries(emulator.get_call(caller.sid), "conference_join"))
    room = conference_named(emulator, "room-6")

    updated = client.conferences(room["sid"]).participants(caller.sid).update(muted=True)

    assert updated.muted is True
    (muted,) = product.wait_for(lambda: product.callbacks("/conference-events"))
    assert muted.params["StatusCallbackEvent"] == "participant-mute"
    assert muted.params["Muted"] == "true" and muted.params["CallSid"] == caller.sid
    client.calls(caller.sid).update(status="completed")


def test_unknown_conferences_answer_20404(emulator):
    reply = requests.get(f"{emulator.base_url}/2010-04-01/Accounts/{ACCOUNT_SID}/Conferences/"
                         f"CF{'0' * 32}.json", auth=(ACCOUNT_SID, AUTH_TOKEN), timeout=5)
    assert reply.status_code == 404 and reply.json()["code"] == 20404


def test_a_briefed_agent_is_moved_from_its_stream_into_the_callers_room(
        client, emulator, product, tmp_path):
    product.stream_behaviours["/brief"] = speaking_bot(BRIEFING, tmp_path)
    caller = client.calls.create(to=CALLER, from_=APP_NUMBER, twiml=join("warm"))
    agent = client.calls.create(to="+15005550205", from_=APP_NUMBER,  # expects BRIEFING
                                twiml=stream_to(product, "/brief"))
    heard = product.wait_for(lambda: entries(emulator.get_call(agent.sid), "callee_heard"),
                             timeout=20)
    assert heard[0]["matched"] is True
    assert conference_named(emulator, "warm")["status"] == "init"  # the caller still waits

    client.calls(agent.sid).update(twiml=join("warm", endConferenceOnExit="true"))

    room = product.wait_for(lambda: conference_named(emulator, "warm")["status"] == "in-progress"
                            and conference_named(emulator, "warm"))
    assert {p["call_sid"] for p in room["participants"]} == {caller.sid, agent.sid}
    (session,) = product.streams
    product.wait_for(lambda: session.closed_at is not None)
    assert len(session.events("stop")) == 1
    client.calls(agent.sid).update(status="completed")
    emulator.wait_for_status(caller.sid, "completed", timeout=5)  # end of its TwiML
