"""End to end: the emulator's callee talks to the bot in a real daphne process."""

import asyncio
import threading
import wave
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
from channels_redis.core import RedisChannelLayer

from calls.live import call_group
from calls.models import Call, TranscriptLine
from campaigns.models import DoNotCall, Lead
from tests import factory
from tests.botruntime.conftest import redis_url_with_slack
from tests.botruntime.helpers import dial, entries
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def finished(call: Call) -> Call | None:
    call.refresh_from_db()
    return call if call.summary else None


def test_it_greets_answers_and_puts_a_do_not_call_request_on_the_list(daphne, emulator):
    campaign = factory.offers_campaign()
    person = factory.dana("+12025550107")
    call = factory.outbound_call(campaign, person)
    heard = GroupListener(call_group(call.pk))

    sid = dial(emulator, daphne, call)
    snapshot = emulator.wait_for_status(sid, "completed", timeout=60)
    wait_until(lambda: finished(call), timeout=15)
    events = heard.stop()

    pushed = [e["line"]["text"] for e in events if e["type"] == "transcript.line"]
    assert TranscriptLine.objects.filter(call=call).count() == len(pushed) >= 3
    lines = list(TranscriptLine.objects.filter(call=call).values_list("speaker", "text"))
    assert lines[0][0] == "bot" and lines[0][1].startswith("Hello Dana")
    caller_lines = [text for speaker, text in lines if speaker == "caller"]
    # Smart Turn may end the turn after the first sentence ("Please do not call me again.").
    assert any("do not call me" in text for text in caller_lines)
    assert any("remove your number" in text for speaker, text in lines if speaker == "bot")
    assert call.disposition == "do_not_call"
    assert DoNotCall.objects.filter(phone="+12025550107", source="bot").exists()
    assert "Dana Reyes" in call.summary and "Do not call" in call.summary
    assert call.recording.name.endswith(".wav")
    with wave.open(str(Path(daphne.media_root) / call.recording.name)) as recording:
        sides = np.frombuffer(recording.readframes(recording.getnframes()), "<i2").reshape(-1, 2)
    assert np.abs(sides[:, 0]).max() > 1000, "the caller is on the recording's left channel"
    assert np.abs(sides[:, 1]).max() > 1000, "the bot is on its right channel"
    assert call.metrics["caller_stop_to_bot_audio_ms"]
    assert call.metrics["marks_echoed"] >= 1
    # The bot hung up through the REST API once its goodbye had been played.
    assert entries(snapshot, "rest_update")
    assert Lead.objects.get(pk=call.lead_id).last_outcome == "do_not_call"


def test_it_schedules_the_callback_the_caller_asks_for(daphne, emulator):
    campaign = factory.offers_campaign()
    person = factory.dana("+12025550103", timezone="America/New_York")
    call = factory.outbound_call(campaign, person)

    sid = dial(emulator, daphne, call)
    emulator.wait_for_status(sid, "completed", timeout=60)
    wait_until(lambda: finished(call), timeout=15)

    assert call.disposition == "callback_requested"
    lead = Lead.objects.get(pk=call.lead_id)
    assert lead.callback_at is not None
    assert "Call back at" in call.summary


@pytest.mark.parametrize(("number", "disposition", "bot_said"), [
    ("+12025550101", "interested", "A specialist will be in touch"),
    ("+12025550102", "not_interested", "Thank you for letting me know"),
])
def test_it_understands_the_interested_and_not_interested_callees(
        number, disposition, bot_said, daphne, emulator):
    campaign = factory.offers_campaign()
    call = factory.outbound_call(campaign, factory.dana(number))

    sid = dial(emulator, daphne, call)
    emulator.wait_for_status(sid, "completed", timeout=60)
    wait_until(lambda: finished(call), timeout=15)

    lines = list(TranscriptLine.objects.filter(call=call).values_list("speaker", "text"))
    assert call.disposition == disposition, lines
    assert any(bot_said in text for speaker, text in lines if speaker == "bot")
    assert Lead.objects.get(pk=call.lead_id).last_outcome == disposition
    assert_each_line_stored_once(lines)


def test_it_holds_a_call_on_the_natural_stack(daphne, emulator):
    """Whisper hears the callee (a Piper voice, not espeak's), the scripted agent decides,
    Piper speaks: one short turn."""
    call, lines = natural_call(daphne, emulator)

    assert call.disposition == "not_interested", lines
    assert any(speaker == "caller" and "not interested" in text.lower() for speaker, text in lines)
    assert any("Thank you for letting me know" in text for speaker, text in lines if speaker == "bot")
    assert call.metrics["ttfb_ms"]["stt"] and call.metrics["ttfb_ms"]["tts"]
    assert_each_line_stored_once(lines)


def test_an_offline_stack_is_never_given_up_on_for_a_slow_answer(daphne, emulator):
    """The answer watchdog is for the cloud stack's remote services: a natural-stack call
    whose answer (Piper's first sentence, a long one) takes longer than
    `answer_timeout_secs` still gets it."""
    reply = ("I understand completely and I am grateful that you took the time to tell me so "
             "clearly, because it means that we will not trouble you with this particular offer "
             "again at any point in the coming months or in the years after that")
    call, lines = natural_call(daphne, emulator, script={
        "answer_timeout_secs": 0.2,
        "rules": [{"keywords": ["not interested"], "disposition": "not_interested",
                   "reply": reply, "end": True}]})

    assert call.disposition == "not_interested", lines
    assert not call.metrics["end_reason"].startswith("no answer"), call.metrics["end_reason"]
    assert not any("technical trouble" in text for speaker, text in lines if speaker == "bot")
    assert any(text.startswith("I understand completely") for speaker, text in lines if speaker == "bot")


def natural_call(daphne, emulator, script: dict | None = None) -> tuple[Call, list[tuple[str, str]]]:
    """A natural-stack call to the callee who is not interested, held to its end."""
    campaign = factory.offers_campaign(voice_stack="natural", script=script or {})
    call = factory.outbound_call(campaign, factory.dana("+12025550112"))

    sid = dial(emulator, daphne, call)
    emulator.wait_for_status(sid, "completed", timeout=90)
    wait_until(lambda: finished(call), timeout=20)
    return call, list(TranscriptLine.objects.filter(call=call).values_list("speaker", "text"))


def assert_each_line_stored_once(lines: list[tuple[str, str]]) -> None:
    repeated = [line for previous, line in pairwise(lines) if line == previous]
    assert not repeated, lines


class GroupListener:
    """Joins a Channels group (on its own loop) and collects what is sent to it."""

    def __init__(self, group: str):
        self.events: list[dict] = []
        self._stop = threading.Event()
        joined = threading.Event()

        async def listen():
            layer = RedisChannelLayer(hosts=[redis_url_with_slack()])
            channel = await layer.new_channel()
            await layer.group_add(group, channel)
            joined.set()
            while not self._stop.is_set():
                try:
                    self.events.append(await asyncio.wait_for(layer.receive(channel), 0.5))
                except TimeoutError:
                    continue
            await layer.group_discard(group, channel)

        self._thread = threading.Thread(target=asyncio.run, args=(listen(),), daemon=True)
        self._thread.start()
        joined.wait(5)

    def stop(self) -> list[dict]:
        self._stop.set()
        self._thread.join(5)
        return self.events
