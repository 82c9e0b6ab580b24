"""Bad input never kills other calls: it is logged on the call's own timeline."""

from __future__ import annotations

import asyncio
import json

from .conftest import APP_NUMBER

HEALTHY = "<Response><Pause length='1'/><Say>Still fine</Say></Response>"


def errors(call: dict) -> list[dict]:
    return [e for e in call["timeline"]["entries"] if e["kind"] == "error"]


async def garbage_then_close(websocket, session) -> None:
    while not session.events("start"):
        await asyncio.sleep(0.01)
    await websocket.send("this is not json")
    await websocket.send(json.dumps({"no": "event"}))
    await websocket.send(json.dumps({"event": "dance"}))
    await websocket.send(json.dumps({"event": "media", "media": {"payload": "!!notbase64"}}))
    await websocket.send(b"\x00\x01binary")
    await asyncio.sleep(0.3)
    await websocket.close()


def test_bad_input_is_logged_and_a_concurrent_call_still_completes(client, emulator, product):
    product.stream_behaviours["/garbage"] = garbage_then_close
    healthy = client.calls.create(to="+15005550199", from_=APP_NUMBER, twiml=HEALTHY)
    garbage_twiml = client.calls.create(to="+15005550199", from_=APP_NUMBER,
                                        twiml="<Response><Say>unclosed</Response>")
    unknown_verb = client.calls.create(to="+15005550199", from_=APP_NUMBER,
                                       twiml="<Response><Dance/></Response>")
    app_error = client.calls.create(to="+15005550199", from_=APP_NUMBER,
                                    url=f"{product.url}/fail/voice")
    hung_ws = client.calls.create(
        to="+15005550199", from_=APP_NUMBER,
        twiml=f"<Response><Connect><Stream url='{product.silent_ws_url}'/></Connect></Response>")
    refused_ws = client.calls.create(
        to="+15005550199", from_=APP_NUMBER,
        twiml="<Response><Connect><Stream url='wss://127.0.0.1:1/nothing'/></Connect></Response>")
    ws_garbage = client.calls.create(
        to="+15005550199", from_=APP_NUMBER,
        twiml=f"<Response><Connect><Stream url='{product.ws_url}/garbage'/></Connect>"
              "<Hangup/></Response>")
    failing_callback = client.calls.create(
        to="+15005550199", from_=APP_NUMBER, twiml="<Response><Hangup/></Response>",
        status_callback=f"{product.url}/fail/status",
        status_callback_event=["initiated", "ringing", "answered", "completed"])

    calls = {name: emulator.wait_for_status(call.sid, "completed", timeout=15)
             for name, call in (("healthy", healthy), ("garbage_twiml", garbage_twiml),
                                ("unknown_verb", unknown_verb), ("app_error", app_error),
                                ("hung_ws", hung_ws), ("refused_ws", refused_ws),
                                ("ws_garbage", ws_garbage), ("callback", failing_callback))}

    assert errors(calls["healthy"]) == []
    assert calls["healthy"]["end_reason"] == "end of TwiML"
    assert [e["code"] for e in errors(calls["garbage_twiml"])] == [12100]
    assert [e["code"] for e in errors(calls["unknown_verb"])] == [12200]
    assert [e["code"] for e in errors(calls["app_error"])] == [11200]
    assert calls["app_error"]["end_reason"] == "application error 11200"
    assert [e["code"] for e in errors(calls["hung_ws"])] == [31920]
    assert "Timeout" in errors(calls["hung_ws"])[0]["error"]
    assert [e["code"] for e in errors(calls["refused_ws"])] == [31920]
    assert {e["code"] for e in errors(calls["ws_garbage"])} == {31951}
    assert len(errors(calls["ws_garbage"])) == 5
    assert calls["ws_garbage"]["timeline"]["ws_messages_received"]["invalid"] == 5
    assert calls["ws_garbage"]["end_reason"] == "<Hangup>"

    callback_failures = product.wait_for(lambda: len(errors(
        emulator.get_call(failing_callback.sid))) == 4 and errors(
        emulator.get_call(failing_callback.sid)))
    assert {e["http_status"] for e in callback_failures} == {500}
    assert {e["code"] for e in callback_failures} == {11200}


def test_health_and_the_timeline_page(emulator, client):
    import requests

    call = client.calls.create(to="+15005550199", from_=APP_NUMBER,
                               twiml="<Response><Say>Hi &amp; bye</Say></Response>")
    emulator.wait_for_status(call.sid, "completed", timeout=10)
    auth = (client.username, client.password)

    health = requests.get(f"{emulator.base_url}/_emulator/health", timeout=5).json()
    page = requests.get(f"{emulator.base_url}/_emulator/?sid={call.sid}", auth=auth, timeout=5)
    listing = requests.get(f"{emulator.base_url}/_emulator/calls.json", auth=auth, timeout=5)

    assert health["status"] == "ok" and health["calls"] == 1 and health["active_calls"] == 0
    assert page.status_code == 200 and call.sid in page.text and "Hi &amp; bye" in page.text
    assert "<script" not in page.text and "http://" not in page.text.replace(emulator.base_url, "")
    assert [c["sid"] for c in listing.json()["calls"]] == [call.sid]
    assert requests.get(f"{emulator.base_url}/_emulator/calls.json", timeout=5).status_code == 401
