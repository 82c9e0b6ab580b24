"""A whole bot session against an in-memory store: the library needs no database, only the
`CallStore` it is handed. The caller speaks over a Channels transport as Twilio would."""

import asyncio
import base64
import json
import shutil

import pytest

from botruntime.session import BotSession, StreamStart
from botruntime.standins import STANDIN_TEXT, standin_services
from botruntime.store import CallContext
from tests.botruntime.memory_store import MemoryCallStore
from twilio_emulator.audio import ULAW_SILENCE
from twilio_emulator.speech import Synthesizer

FRAME = 160  # 20 ms of 8 kHz μ-law, as Twilio sends it


class TwilioSide:
    """Twilio's end of the socket: echoes marks, and the caller speaks once greeted."""

    def __init__(self):
        self.session: BotSession | None = None
        self.sent: list[dict] = []
        self.closed = asyncio.Event()

    async def send(self, text: str) -> None:
        message = json.loads(text)
        self.sent.append(message)
        if message["event"] == "mark":  # the caller has heard everything before it
            self.session.transport.feed("mark", message["mark"]["name"])

    async def close(self) -> None:
        self.closed.set()

    async def say(self, ulaw: bytes) -> None:
        for start in range(0, len(ulaw), FRAME):
            payload = base64.b64encode(ulaw[start:start + FRAME].ljust(FRAME, bytes([ULAW_SILENCE])))
            self.session.transport.feed("media", json.dumps({
                "event": "media", "streamSid": "MZ1", "media": {"payload": payload.decode()}}))
            await asyncio.sleep(0.02)


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed")
@pytest.mark.asyncio
async def test_it_runs_a_call_with_an_in_memory_store_and_no_database(tmp_path):
    store = MemoryCallStore(CallContext(
        call_id=7, call_sid="CA1", direction="outbound", phone="+12025550107", lead_id=3,
        greeting_template="Hello {{ first_name }}.",
        campaign_name="Summer Offers", customer={"first_name": "Dana", "full_name": "Dana Reyes"}))
    twilio = TwilioSide()
    # What the stand-in recogniser hears is fixed (STANDIN_TEXT); this only has to be speech.
    speech = await Synthesizer(tmp_path).ulaw("Remove me from your list.")
    silence = bytes([ULAW_SILENCE]) * 4000

    twilio.session = session = BotSession.over_channels(
        StreamStart("MZ1", "CA1", "AC1", {"call_id": "7"}), twilio.send, twilio.close, store=store,
        services_factory=standin_services)  # fixed-latency stand-ins: no pocketsphinx, no espeak
    await asyncio.wait_for(session._ready.wait(), 10)
    await twilio.say(silence + speech + silence)
    await asyncio.wait_for(session.task, 30)

    assert store.linked == [("CA1", "MZ1", {"call_id": "7"})]
    assert store.lines[0] == ("bot", store.lines[0][1]) and store.lines[0][1].startswith("Hello Dana")
    assert ("caller", STANDIN_TEXT) in store.lines
    assert store.dispositions[0][0] == "do_not_call" and store.do_not_call == ["+12025550107"]
    assert store.outcomes == [(3, "do_not_call", None)]
    assert store.finished["disposition"] == "do_not_call" and "Dana Reyes" in store.finished["summary"]
    assert store.finished["recording"] is not None
    assert twilio.closed.is_set()
    assert any(message["event"] == "media" for message in twilio.sent)
