"""The campaign's AI disclosure and recording notice are the first thing the callee hears,
before the greeting: stored first in the transcript and heard first on the line."""

import wave

import pytest

from botruntime import asr
from calls.models import Call, TranscriptLine
from campaigns.models import DEFAULT_AI_DISCLOSURE, DEFAULT_RECORDING_NOTICE
from tests import factory
from tests.botruntime.helpers import dial
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

HEARD_SECONDS = 7  # the notices and the greeting's first words, at espeak-ng's pace


def heard_by_the_callee(emulator, sid: str, phrases: tuple[str, ...]) -> str:
    """The start of what the emulator's callee heard from the bot, recognised by pocketsphinx."""
    path = emulator.emulator.data_dir / "calls" / f"{sid}-from-app.wav"
    with wave.open(str(path)) as wav:
        pcm = wav.readframes(wav.getframerate() * HEARD_SECONDS)
        rate = wav.getframerate()
    return asr.transcribe(phrases, pcm, rate)


def test_the_ai_disclosure_and_the_recording_notice_are_said_before_the_greeting(daphne, emulator):
    # Not the bot tests' campaign, whose calls skip the notices: a campaign as staff make one.
    campaign = factory.offers_campaign(ai_disclosure=DEFAULT_AI_DISCLOSURE,
                                       recording_notice=DEFAULT_RECORDING_NOTICE)
    call = factory.outbound_call(campaign, factory.dana("+12025550102"))  # "not interested"

    sid = dial(emulator, daphne, call)
    emulator.wait_for_status(sid, "completed", timeout=60)
    wait_until(lambda: Call.objects.filter(pk=call.pk).exclude(summary="").exists(), timeout=15)

    first = TranscriptLine.objects.filter(call=call, speaker="bot").order_by("offset_ms", "id").first()
    assert first.text.startswith(
        "You are speaking with an automated AI assistant. This call is recorded. Hello Dana"), first.text
    heard = heard_by_the_callee(emulator, sid, ("you are speaking with an automated assistant",
                                                "this call is recorded", "hello dana"))
    assert heard.startswith("you are speaking"), heard
    assert heard.index("automated") < heard.index("recorded") < heard.index("hello"), heard
