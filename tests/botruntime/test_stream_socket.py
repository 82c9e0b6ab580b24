"""The media-stream socket's defences: signatures, garbage, barge-in, answering machines."""

import asyncio
import json
import time

import pytest
import websockets
from twilio.request_validator import RequestValidator

from calls.models import Call, TranscriptLine
from tests import factory
from tests.botruntime.conftest import ACCOUNT_SID, AUTH_TOKEN
from tests.botruntime.helpers import dial, entries
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def stream_url(daphne) -> str:
    return daphne.base_url.replace("http://", "ws://") + "/twilio/stream/"


def signature(url: str, token: str = AUTH_TOKEN) -> str:
    return RequestValidator(token).compute_signature(url, {})


async def refused(url: str, headers: dict) -> bool:
    try:
        async with websockets.connect(url, additional_headers=headers, open_timeout=5):
            return False
    except websockets.exceptions.InvalidStatus as exc:
        return exc.response.status_code == 403


def test_it_refuses_a_forged_or_missing_signature(daphne):
    url = stream_url(daphne)
    assert asyncio.run(refused(url, {"X-Twilio-Signature": signature(url, "not-the-token")}))
    assert asyncio.run(refused(url, {}))
    assert not Call.objects.exists()


def test_it_accepts_a_signature_made_with_the_auth_token(daphne):
    url = stream_url(daphne)

    async def connect():
        async with websockets.connect(url, additional_headers={"X-Twilio-Signature": signature(url)}):
            return True

    assert asyncio.run(connect())


async def send_garbage(url: str) -> None:
    async with websockets.connect(url, additional_headers={"X-Twilio-Signature": signature(url)},
                                  max_size=2**21) as ws:
        await ws.send("{not json")
        await ws.send(json.dumps({"event": "media", "media": {"payload": "AAAA"}}))  # before start
        await ws.send(json.dumps({"event": "surprise"}))
        await ws.send(json.dumps({"no_event": True}))
        await ws.send("x" * 100_000)
        await ws.send(json.dumps({"event": "start", "start": "nonsense"}))
        await ws.send(json.dumps([1, 2, 3]))
        await ws.send(b"\x00\xff binary")
        await asyncio.sleep(0.5)
        # Still open and answering: a ping round-trip succeeds.
        await asyncio.wait_for(await ws.ping(), 5)


def test_garbage_frames_leave_a_concurrent_call_unharmed(daphne, emulator):
    campaign = factory.offers_campaign()
    call = factory.outbound_call(campaign, factory.dana("+12025550107"))
    sid = dial(emulator, daphne, call)
    time.sleep(1.0)  # the real call is up and greeting

    asyncio.run(send_garbage(stream_url(daphne)))

    emulator.wait_for_status(sid, "completed", timeout=60)
    wait_until(lambda: Call.objects.filter(pk=call.pk).exclude(summary="").exists(), timeout=15)
    call.refresh_from_db()
    assert call.disposition == "do_not_call"
    assert daphne.poll() is None
    assert Call.objects.count() == 1  # garbage created nothing


def test_a_barge_in_stops_the_bot_and_clears_twilios_buffer(daphne, emulator):
    campaign = factory.offers_campaign(greeting_template="Hello {{ first_name }}, this is a rather long "
                                "greeting from Summer Offers, which goes on and on so that there "
                                "is plenty of time to interrupt it before it finishes.")
    call = factory.outbound_call(campaign, factory.dana("+12025550109"))

    sid = dial(emulator, daphne, call)
    emulator.wait_for_status(sid, "completed", timeout=60)
    snapshot = emulator.get_call(sid)

    barge_in = entries(snapshot, "callee_barge_in")[0]
    assert barge_in["bot_was_talking"]
    clears = [e for e in entries(snapshot, "stream_clear") if e["t"] >= barge_in["t"]]
    assert clears and clears[0]["t"] - barge_in["t"] < 1.5
    # Once cleared, the bot did not carry on with the greeting: what it had sent before the
    # clear plus what it said afterwards is far shorter than the whole greeting.
    assert clears[0]["dropped_seconds"] <= 0.5


def test_an_answering_machine_gets_the_voicemail_message(daphne, emulator):
    campaign = factory.offers_campaign(voicemail_message="Hi {{ first_name }}, Summer Offers here. "
                                "We will call again soon.")
    call = factory.outbound_call(campaign, factory.dana("+12025550106"))
    ws_url = stream_url(daphne)

    body = {
        "To": call.to_number, "From": call.from_number,
        "MachineDetection": "Enable", "AsyncAmd": "true",
        "AsyncAmdStatusCallback": f"{daphne.base_url}/twilio/amd/",
        "Twiml": f'<Response><Connect><Stream url="{ws_url}"><Parameter name="call_id" '
                 f'value="{call.pk}"/></Stream></Connect></Response>',
    }
    sid = dial_raw(emulator, body)
    call.call_sid = sid
    call.save(update_fields=["call_sid"])

    emulator.wait_for_status(sid, "completed", timeout=60)
    wait_until(lambda: Call.objects.filter(pk=call.pk).exclude(summary="").exists(), timeout=15)
    call.refresh_from_db()
    assert call.disposition == "voicemail"
    bot_lines = list(TranscriptLine.objects.filter(call=call, speaker="bot").values_list("text", flat=True))
    # Each said and stored once (the greeting and the message were both stored twice).
    assert sum(text.startswith("Hi Dana, Summer Offers here") for text in bot_lines) == 1, bot_lines
    assert sum(text.startswith("Hello Dana") for text in bot_lines) == 1, bot_lines
    assert entries(emulator.get_call(sid), "rest_update")


def dial_raw(emulator, fields: dict) -> str:
    import base64
    import urllib.request

    request = urllib.request.Request(  # noqa: S310
        f"{emulator.base_url}/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json",
        data=urllib.parse.urlencode(fields).encode(),
        headers={"Authorization": "Basic " + base64.b64encode(
            f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return json.loads(response.read())["sid"]


def test_an_open_stream_keeps_saying_that_its_call_is_alive(daphne, emulator):
    call = factory.outbound_call(factory.offers_campaign(), factory.dana("+12025550102"))
    sid = dial(emulator, daphne, call)  # no status callbacks: only the stream speaks for the call

    def heard():
        return Call.objects.get(pk=call.pk).last_heard_at

    first = wait_until(heard, timeout=30)
    wait_until(lambda: heard() > first, timeout=10)  # a beat a second (RECONCILE_MARGIN_SECONDS=3)
    emulator.wait_for_status(sid, "completed", timeout=60)
