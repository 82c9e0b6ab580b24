"""When the caller's turn ends under the silence timeout (BOT_TURN_DETECTION=silence): a
caller who pauses mid-sentence for less than BOT_SILENCE_TIMEOUT_SECS is let finish."""

import asyncio

import pytest
from pipecat.frames.frames import TranscriptionFrame, VADUserStartedSpeakingFrame, VADUserStoppedSpeakingFrame
from pipecat.processors.frame_processor import FrameProcessorSetup
from pipecat.utils.asyncio.task_manager import TaskManager

from botruntime import turns
from botruntime.vad import PHONE_VAD_PARAMS


async def cut_off(silence_secs: float, pause_secs: float) -> bool:
    """Did the turn end while the caller was pausing `pause_secs` between two halves of a sentence?"""
    loop = asyncio.get_running_loop()
    (strategy,) = turns.stop_strategies("silence", silence_secs)
    await strategy.setup(FrameProcessorSetup(clock=None, pipeline_worker=None, task_manager=TaskManager(loop=loop)))
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
