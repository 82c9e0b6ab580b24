"""The caller's speech is heard as Pipecat's own Silero VAD hears it, though the model runs
only on audio loud enough to be speech (botruntime.vad)."""

import asyncio

import numpy as np
import pytest
from pipecat.audio.vad.silero import SileroVADAnalyzer
from pipecat.audio.vad.vad_analyzer import VADState

from botruntime.vad import PHONE_VAD_PARAMS, SharedSileroVADAnalyzer
from twilio_emulator.audio import pcm16_to_ulaw, resample, ulaw_to_pcm16
from twilio_emulator.speech import espeak_pcm

RATE = 8000
FRAME = 160  # 20 ms, as Twilio sends it


def phone_line(noise_db: float | None) -> np.ndarray:
    """1.5 s of line, a sentence, 1.5 s of line, another sentence, 2 s of line, through
    μ-law as the serializer hands it over; the line is digital silence or noise."""
    samples, rate = asyncio.run(espeak_pcm("Please do not call me again."))
    speech = resample(samples, rate, RATE).astype(np.float64)
    rng = np.random.default_rng(7)

    def line(seconds: float) -> np.ndarray:
        if noise_db is None:
            return np.zeros(int(seconds * RATE))
        return rng.normal(0, 32768 * 10 ** (noise_db / 20), int(seconds * RATE))

    audio = np.concatenate([line(1.5), speech, line(1.5), speech, line(2.0)])
    clipped = np.clip(audio, -32768, 32767).astype(np.int16)
    return ulaw_to_pcm16(pcm16_to_ulaw(clipped))


def verdicts(analyzer, audio: np.ndarray) -> list[VADState]:
    analyzer.set_sample_rate(RATE)

    async def run():
        return [await analyzer.analyze_audio(audio[i:i + FRAME].astype("<i2").tobytes())
                for i in range(0, len(audio) - FRAME + 1, FRAME)]

    return asyncio.run(run())


def turns(states: list[VADState]) -> list[tuple[int, int]]:
    """(frame the caller starts speaking, frame they are heard to stop), each time."""
    found, start = [], None
    for i, state in enumerate(states):
        if state == VADState.SPEAKING and start is None:
            start = i
        elif state == VADState.QUIET and start is not None:
            found.append((start, i))
            start = None
    return found


@pytest.mark.parametrize("noise_db", [None, -55.0, -40.0], ids=["silent line", "quiet line", "noisy line"])
def test_the_callers_speech_starts_and_ends_a_turn_as_pipecats_vad_hears_it(noise_db):
    audio = phone_line(noise_db)
    ours = turns(verdicts(SharedSileroVADAnalyzer(sample_rate=RATE), audio))
    pipecats = turns(verdicts(SileroVADAnalyzer(sample_rate=RATE, params=PHONE_VAD_PARAMS), audio))

    assert len(ours) == 2, ours  # both sentences, each once
    assert len(ours) == len(pipecats)
    for (start, stop), (their_start, their_stop) in zip(ours, pipecats, strict=True):
        # Within one Silero window (32 ms, under two frames): the model's memory of the
        # line before the speech is the only difference.
        assert abs(start - their_start) <= 2
        assert abs(stop - their_stop) <= 2


def test_the_model_is_not_run_while_the_line_is_silent(monkeypatch):
    analyzer = SharedSileroVADAnalyzer(sample_rate=RATE)
    scored = []
    original = SileroVADAnalyzer.voice_confidence
    monkeypatch.setattr(SileroVADAnalyzer, "voice_confidence",
                        lambda self, buffer: scored.append(1) or original(self, buffer))

    states = verdicts(analyzer, np.zeros(RATE * 5))

    assert set(states) == {VADState.QUIET}
    assert scored == []
