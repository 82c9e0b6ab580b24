"""pocketsphinx on the phone line: the emulator's callees must be understood."""

import asyncio
import shutil

import numpy as np
import pytest

from botruntime import asr
from botruntime.script import DEFAULT_SCRIPT, ScriptedDialogue, merged_script, vocabulary
from twilio_emulator.audio import SAMPLE_RATE, ULAW_SILENCE, ulaw_to_pcm16
from twilio_emulator.speech import Synthesizer

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed")


def heard_on_the_line(text: str, cache_dir) -> str:
    """The phrase as the emulator plays it, with a second of line silence either side
    (Pipecat hands the recogniser up to 1 s of pre-roll and pads the end with zeros)."""
    speech = asyncio.run(Synthesizer(cache_dir).ulaw(text))
    silence = bytes([ULAW_SILENCE]) * SAMPLE_RATE
    pcm = ulaw_to_pcm16(silence + speech + silence).astype("<i2").tobytes()
    return asr.transcribe(vocabulary(DEFAULT_SCRIPT), pcm, SAMPLE_RATE)


@needs_espeak
@pytest.mark.parametrize(("said", "disposition"), [
    ("Yes, I am interested. Tell me more.", "interested"),
    ("No thanks, I am not interested.", "not_interested"),
    ("I am busy right now. Please call me back tomorrow at ten.", "callback_requested"),
    ("Please do not call me again. Remove me from your list.", "do_not_call"),
])
def test_it_understands_the_emulator_callees(said, disposition, tmp_path):
    heard = heard_on_the_line(said, tmp_path)

    assert ScriptedDialogue(merged_script({})).respond(heard).disposition == disposition


@needs_espeak
def test_it_hears_the_not_interested_callee_word_for_word(tmp_path):
    # Was "okay the good": digital silence around the speech threw the decoder off.
    assert heard_on_the_line("No thanks, I am not interested.", tmp_path) == (
        "no thanks i am not interested")


def test_digital_silence_is_trimmed_and_filled_with_line_noise():
    speech = np.full(800, 1000, dtype="<i2")
    segment = np.concatenate([np.zeros(8000, "<i2"), speech, np.zeros(8000, "<i2")])

    conditioned = asr.condition(segment, SAMPLE_RATE)

    edge = int(asr.EDGE_SILENCE_SECS * SAMPLE_RATE)
    assert conditioned.size == speech.size + 2 * edge
    assert np.count_nonzero(conditioned == 0) < conditioned.size // 50
    assert 10 < np.std(conditioned[:edge]) < 100
    assert np.array_equal(conditioned, asr.condition(segment, SAMPLE_RATE))  # deterministic
    assert not asr.condition(np.zeros(800, "<i2"), SAMPLE_RATE).any()
