"""<Connect><Stream>: the Media Streams protocol as the product's WebSocket server sees it."""

from __future__ import annotations

import asyncio
import base64
import json
import time
import wave

from .conftest import APP_NUMBER, b64_frames, ulaw_tone


def stream_twiml(product, path: str, after: str = "<Say>Goodbye</Say>") -> str:
    return (f"<Response><Connect><Stream url='{product.ws_url}{path}'>"
            "<Parameter name='lead' value='42'/><Parameter name='token' value='one-time'/>"
            f"</Stream></Connect>{after}</Response>")


async def bot_with_marks(websocket, session) -> None:
    """Speak 1 s then mark; speak 2 s more, mark, and clear it at once; then hang up."""
    while not session.events("start"):
        await asyncio.sleep(0.01)
    stream_sid = session.events("start")[0]["streamSid"]
    for payload in b64_frames(ulaw_tone(1.0)):
        await websocket.send(json.dumps({"event": "media", "streamSid": stream_sid,
                                         "media": {"payload": payload}}))
    await websocket.send(json.dumps({"event": "mark", "streamSid": stream_sid,
                                     "mark": {"name": "greeting"}}))
    session.sent["greeting"] = time.monotonic()
    while not session.events("mark"):
        await asyncio.sleep(0.01)
    for payload in b64_frames(ulaw_tone(2.0)):
        await websocket.send(json.dumps({"event": "media", "streamSid": stream_sid,
                                         "media": {"payload": payload}}))
    await websocket.send(json.dumps({"event": "mark", "streamSid": stream_sid,
                                     "mark": {"name": "interrupted"}}))
    await asyncio.sleep(0.2)
    await websocket.send(json.dumps({"event": "clear", "streamSid": stream_sid}))
    session.sent["clear"] = time.monotonic()
    while len(session.events("mark")) < 2:
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.3)
    await websocket.close()


def test_it_streams_with_twilios_protocol_and_plays_the_apps_audio(client, emulator, product):
    product.stream_behaviours["/bot"] = bot_with_marks
    call = client.calls.create(to="+15005550199", from_=APP_NUMBER,
                               twiml=stream_twiml(product, "/bot"))

    done = emulator.wait_for_status(call.sid, "completed", timeout=15)

    (session,) = product.streams
    connected, start = session.messages[0][1], session.messages[1][1]
    assert connected == {"event": "connected", "protocol": "Call", "version": "1.0.0"}
    assert start["event"] == "start" and start["sequenceNumber"] == "1"
    details = start["start"]
    assert details["callSid"] == call.sid and details["accountSid"] == call.account_sid
    assert details["streamSid"] == start["streamSid"] and details["streamSid"].startswith("MZ")
    assert details["tracks"] == ["inbound"]
    assert details["customParameters"] == {"lead": "42", "token": "one-time"}
    assert details["mediaFormat"] == {"encoding": "audio/x-mulaw", "sampleRate": 8000,
                                      "channels": 1}

    media = session.events("media")
    assert len(media) > 60  # 1.5 s of 20 ms frames
    assert all(len(base64.b64decode(m["media"]["payload"])) == 160 for m in media)
    assert all(m["media"]["track"] == "inbound" for m in media)
    assert [int(m["media"]["chunk"]) for m in media[:3]] == [1, 2, 3]
    numbers = [int(m["sequenceNumber"]) for _, m in session.messages[1:]]
    assert numbers == list(range(1, len(numbers) + 1))

    # The first mark comes back once its second of audio has played, not when received.
    greeting_echo, _ = next((at, m) for at, m in session.messages
                            if m.get("event") == "mark" and m["mark"]["name"] == "greeting")
    assert 0.9 <= greeting_echo - session.sent["greeting"] <= 1.5
    # A clear drops the rest of the 2 s and returns the pending mark straight away.
    cleared_echo, _ = next((at, m) for at, m in session.messages
                           if m.get("event") == "mark" and m["mark"]["name"] == "interrupted")
    assert cleared_echo - session.sent["clear"] < 0.2

    # The app closed the socket: <Connect> ended and the TwiML went on to <Say>.
    entries = done["timeline"]["entries"]
    kinds = [e["kind"] for e in entries]
    assert kinds.index("stream_closed_by_app") < kinds.index("twiml_say")
    assert done["end_reason"] == "end of TwiML"
    (clear,) = [e for e in entries if e["kind"] == "stream_clear"]
    assert clear["echoed_marks"] == ["interrupted"] and clear["dropped_seconds"] > 1
    counts = done["timeline"]["ws_messages_received"]
    assert counts["media"] == 150 and counts["mark"] == 2 and counts["clear"] == 1

    (audio,) = [e["wav"] for e in entries if e["kind"] == "audio_received"]
    with wave.open(audio) as wav:
        assert wav.getframerate() == 8000 and wav.getnchannels() == 1
        assert 1.1 <= wav.getnframes() / 8000 <= 3.5  # 1 s + 0.2 s before the clear, + gaps


def test_the_callee_speaks_after_the_bot_and_presses_digits(client, emulator, product):
    async def greet_then_listen(websocket, session) -> None:
        while not session.events("start"):
            await asyncio.sleep(0.01)
        sid = session.events("start")[0]["streamSid"]
        for payload in b64_frames(ulaw_tone(0.5)):
            await websocket.send(json.dumps({"event": "media", "streamSid": sid,
                                             "media": {"payload": payload}}))
        session.sent["greeting"] = time.monotonic()
        while len(session.events("dtmf")) < 2:
            await asyncio.sleep(0.02)
        await websocket.close()

    product.stream_behaviours["/listen"] = greet_then_listen
    call = client.calls.create(to="+15005550111", from_=APP_NUMBER,  # says "Hello there"
                               twiml=stream_twiml(product, "/listen", after=""))

    done = emulator.wait_for_status(call.sid, "completed", timeout=15)

    (session,) = product.streams
    loud = [at for at, m in session.messages if m.get("event") == "media"
            and set(base64.b64decode(m["media"]["payload"])) - {0xFF, 0x7F}]
    assert loud, "the callee never spoke"
    # It waited for the bot's half second of audio to play and then for its silence.
    assert loud[0] - session.sent["greeting"] >= 0.6
    assert [m["dtmf"] for m in session.events("dtmf")] == [
        {"track": "inbound_track", "digit": "1"}, {"track": "inbound_track", "digit": "2"}]
    said = [e for e in done["timeline"]["entries"] if e["kind"] == "callee_say"]
    assert said[0]["text"] == "Hello there" and said[0]["after_bot_turn"] is True


def test_the_stream_gets_stop_when_the_call_is_hung_up(client, emulator, product):
    twiml = (f"<Response><Connect><Stream url='{product.ws_url}/quiet' name='bot' "
             f"statusCallback='{product.url}/stream-events'/></Connect></Response>")
    call = client.calls.create(to="+15005550199", from_=APP_NUMBER, twiml=twiml)
    product.wait_for(lambda: product.streams and product.streams[0].events("media"))

    client.calls(call.sid).update(status="completed")

    session = product.streams[0]
    product.wait_for(lambda: session.closed_at is not None)
    stop = session.events("stop")
    assert stop == [{"event": "stop", "sequenceNumber": stop[0]["sequenceNumber"],
                     "streamSid": session.events("start")[0]["streamSid"],
                     "stop": {"accountSid": call.account_sid, "callSid": call.sid}}]
    assert emulator.get_call(call.sid)["status"] == "completed"
    events = product.wait_for(lambda: len(product.callbacks("/stream-events", call.sid)) == 2
                              and product.callbacks("/stream-events", call.sid))
    assert [e.params["StreamEvent"] for e in events] == ["stream-started", "stream-stopped"]
    assert {e.params["StreamName"] for e in events} == {"bot"}
    assert all(e.signature_valid for e in events)


def test_new_twiml_mid_call_ends_the_stream_and_runs(client, emulator, product):
    product.twiml["/next"] = "<Response><Say>Transferring you now</Say><Hangup/></Response>"
    call = client.calls.create(to="+15005550199", from_=APP_NUMBER,
                               twiml=stream_twiml(product, "/quiet", after="<Say>Not this</Say>"))
    product.wait_for(lambda: product.streams and product.streams[0].events("media"))

    client.calls(call.sid).update(url=f"{product.url}/next", method="GET")

    session = product.streams[0]
    product.wait_for(lambda: session.closed_at is not None)
    assert [m["stop"]["callSid"] for m in session.events("stop")] == [call.sid]
    done = emulator.wait_for_status(call.sid, "completed", timeout=10)
    (fetched,) = product.callbacks("/next")
    assert fetched.signature_valid
    said = [e["text"] for e in done["timeline"]["entries"] if e["kind"] == "twiml_say"]
    assert said == ["Transferring you now"]  # the rest of the old document never ran
    kinds = [e["kind"] for e in done["timeline"]["entries"]]
    assert kinds.index("stream_ended") < kinds.index("redirected") < kinds.index("twiml_say")
    assert done["end_reason"] == "<Hangup>"
