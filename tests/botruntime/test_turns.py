"""When the caller's turn ends: a caller who pauses mid-sentence for less than Smart Turn's
floor (the default) or BOT_SILENCE_TIMEOUT_SECS (BOT_TURN_DETECTION=silence) is let finish."""

import asyncio
import time

import numpy as np
import pytest
from pipecat.frames.frames import (
    InputAudioRawFrame,
    TranscriptionFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.processors.frame_processor import FrameProcessorSetup
from pipecat.turns.user_stop.turn_analyzer_user_turn_stop_strategy import TurnAnalyzerUserTurnStopStrategy
from pipecat.utils.asyncio.task_manager import TaskManager

from botruntime import turns
from botruntime.vad import PHONE_VAD_PARAMS
from twilio_emulator.audio import pcm16_to_ulaw, resample, ulaw_to_pcm16
from twilio_emulator.speech import espeak_pcm

SAMPLE_RATE = 8000


async def set_up(strategy) -> None:
    """As the user aggregator sets its strategies up in a call."""
    await strategy.setup(FrameProcessorSetup(
        clock=None, pipeline_worker=None, audio_in_sample_rate=SAMPLE_RATE,
        task_manager=TaskManager(loop=asyncio.get_running_loop())))


async def cut_off(silence_secs: float, pause_secs: float) -> bool:
    """Did the turn end while the caller was pausing `pause_secs` between two halves of a sentence?"""
    (strategy,) = turns.stop_strategies("silence", silence_secs)
    await set_up(strategy)
    ended = []
    strategy.add_event_handler("on_user_turn_stopped", lambda _strategy, _params: ended.append(True))
    await strategy.process_frame(VADUserStartedSpeakingFrame())
    await strategy.process_frame(TranscriptionFrame("I am busy right now, so", "caller", "now"))
    # The VAD says the caller stopped once they have been quiet for its stop_secs.
    await asyncio.sleep(PHONE_VAD_PARAMS.stop_secs)
    await strategy.process_frame(VADUserStoppedSpeakingFrame(stop_secs=PHONE_VAD_PARAMS.stop_secs))
    await asyncio.sleep(pause_secs - PHONE_VAD_PARAMS.stop_secs)
    cut = bool(ended)
    await strategy.process_frame(VADUserStartedSpeakingFrame())
    await strategy.cleanup()
    return cut


@pytest.mark.parametrize(("silence_secs", "cut"), [(0.8, True), (1.2, False)])
def test_a_caller_pausing_shorter_than_the_silence_timeout_is_not_cut_off(silence_secs, cut):
    assert asyncio.run(cut_off(silence_secs, pause_secs=0.95)) is cut


def my_husband_usually() -> bytes:
    """A caller's "My husband usually", over μ-law at 8 kHz: words Smart Turn itself calls
    finished (P 0.97 on the voice bench), as a caller who pauses before "…handles that" says them."""
    samples, rate = asyncio.run(espeak_pcm("My husband usually", words_per_minute=165))
    speech = resample(samples, rate, SAMPLE_RATE).astype(np.int16)
    return ulaw_to_pcm16(pcm16_to_ulaw(speech)).astype("<i2").tobytes()


async def smart_turn_cut_off(strategy, speech: bytes, pause_secs: float) -> float | None:
    """Feed `strategy` the caller's speech then silence (the VAD stopping 0.2 s into it), and
    say when, in seconds after their last sound, it ended the turn (None: not within the pause)."""
    await set_up(strategy)
    ended = []
    strategy.add_event_handler("on_user_turn_stopped", lambda _strategy, _params: ended.append(time.time()))
    frame_bytes = SAMPLE_RATE // 50 * 2

    async def audio(pcm: bytes):
        for start in range(0, len(pcm) - frame_bytes + 1, frame_bytes):
            await strategy.process_frame(InputAudioRawFrame(pcm[start:start + frame_bytes], SAMPLE_RATE, 1))

    await strategy.process_frame(VADUserStartedSpeakingFrame())
    await audio(speech)
    await strategy.process_frame(TranscriptionFrame("My husband usually", "caller", "now", finalized=True))
    vad_stop = turns.SMART_TURN_VAD_PARAMS.stop_secs
    await audio(bytes(int(vad_stop * SAMPLE_RATE) * 2))
    stopped_at = time.time()
    last_sound = stopped_at - vad_stop
    await strategy.process_frame(VADUserStoppedSpeakingFrame(stop_secs=vad_stop, timestamp=stopped_at))
    await asyncio.sleep(max(0.0, last_sound + pause_secs - time.time()))
    await strategy.process_frame(VADUserStartedSpeakingFrame())
    await asyncio.sleep(0.1)
    await strategy.cleanup()
    return ended[0] - last_sound if ended else None


def test_smart_turn_does_not_cut_off_a_caller_pausing_mid_sentence_shorter_than_its_floor():
    speech = my_husband_usually()
    plain = TurnAnalyzerUserTurnStopStrategy(turn_analyzer=turns.SharedSmartTurnAnalyzer())
    # Pipecat's own use of Smart Turn ends the turn as soon as the model says "finished"...
    assert asyncio.run(smart_turn_cut_off(plain, speech, pause_secs=0.5)) is not None
    # ...the product's waits for the floor, and the caller spoke again before it.
    (strategy,) = turns.stop_strategies("smart", 0.8)
    assert asyncio.run(smart_turn_cut_off(strategy, speech, pause_secs=0.5)) is None


def test_smart_turn_answers_a_caller_who_stays_quiet_once_the_floor_has_passed():
    (strategy,) = turns.stop_strategies("smart", 0.8)
    ended = asyncio.run(smart_turn_cut_off(strategy, my_husband_usually(), pause_secs=1.5))
    assert turns.SMART_TURN_FLOOR_SECS <= ended < turns.SMART_TURN_FLOOR_SECS + 0.3
