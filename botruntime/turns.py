"""When the caller's turn ends: Smart Turn v3 (the default) or a silence timeout.

Smart Turn listens to the last seconds of the caller's speech and says whether it sounds
finished, so the VAD may stop after a short pause (SMART_TURN_VAD_PARAMS) without cutting
off a caller who pauses mid-sentence. On the voice bench's callers (synthetic voices over
μ-law) it calls about half of the mid-sentence pauses finished 0.2 s into them, so its
"finished" is taken only once the caller has been quiet for SMART_TURN_FLOOR_SECS (a pause
shorter than that is never cut), and a turn it keeps calling unfinished ends after
SMART_TURN_PARAMS.stop_secs more: fewer callers cut off than Pipecat's plain use of it, and
no caller left 2 s in silence (bench/voice_quality.py --parts turns, README).

Pipecat's `LocalSmartTurnAnalyzerV3()` opens its ONNX
session in the constructor, on the event loop, once per call (a stall in every other
call): here the session of the model in Pipecat's wheel is opened once per process (at
start-up, see `botruntime.warm_up`) and each call's analyzer keeps only its own audio
buffer and thread over it. `InferenceSession.run` is thread-safe.

The silence timeout (`BOT_TURN_DETECTION=silence`) is the older rule, kept for the bench's
comparison and for hosts that cannot spare Smart Turn's CPU.
"""

from __future__ import annotations

import asyncio
import threading
import time
from importlib import resources

from pipecat.audio.turn.smart_turn.base_smart_turn import BaseSmartTurn, SmartTurnParams
from pipecat.audio.turn.smart_turn.local_smart_turn_v3 import LocalSmartTurnAnalyzerV3
from pipecat.audio.vad.vad_analyzer import VADParams
from pipecat.turns.user_stop.speech_timeout_user_turn_stop_strategy import (
    SpeechTimeoutUserTurnStopStrategy,
)
from pipecat.turns.user_stop.turn_analyzer_user_turn_stop_strategy import (
    TurnAnalyzerUserTurnStopStrategy,
)

from botruntime.vad import PHONE_VAD_PARAMS

SMART_TURN_MODEL = "smart-turn-v3.2-cpu.onnx"

# Smart Turn decides after a short pause; the VAD only has to notice the pause.
SMART_TURN_VAD_PARAMS = VADParams(confidence=PHONE_VAD_PARAMS.confidence,
                                  start_secs=PHONE_VAD_PARAMS.start_secs, stop_secs=0.2,
                                  min_volume=PHONE_VAD_PARAMS.min_volume)
# Smart Turn's "finished" is taken once the caller has been quiet this long (their last sound
# to now); a shorter pause is never cut off.
SMART_TURN_FLOOR_SECS = 0.6
# A caller whose speech Smart Turn keeps calling unfinished is answered after this much more
# silence than the VAD's stop (1.2 s in all: the silence timeout that cut no bench caller off).
SMART_TURN_PARAMS = SmartTurnParams(stop_secs=1.0)

_session = None
_session_lock = threading.Lock()


def model_path() -> str:
    return str(resources.files("pipecat.audio.turn.smart_turn.data").joinpath(SMART_TURN_MODEL))


def shared_session():
    """The process's one Smart Turn ONNX session, built as Pipecat builds it (one thread)."""
    global _session
    if _session is None:
        with _session_lock:
            if _session is None:
                import onnxruntime as ort

                options = ort.SessionOptions()
                options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
                options.inter_op_num_threads = 1
                options.intra_op_num_threads = 1
                options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
                _session = ort.InferenceSession(model_path(), sess_options=options)
    return _session


class SharedSmartTurnAnalyzer(LocalSmartTurnAnalyzerV3):
    """`LocalSmartTurnAnalyzerV3` minus the model load: buffer per call, session per process."""

    def __init__(self, *, sample_rate: int | None = None, params: SmartTurnParams | None = None):
        BaseSmartTurn.__init__(self, sample_rate=sample_rate, params=params or SMART_TURN_PARAMS)
        self._log_data = False
        self._session = shared_session()


class FlooredTurnAnalyzerStopStrategy(TurnAnalyzerUserTurnStopStrategy):
    """Pipecat's turn-analyzer strategy whose end of turn waits until the caller has been
    quiet for `floor_secs`, and is dropped if they speak again first. Every path to the end
    of a turn (the analyzer's verdict with its transcript, its own silence limit) goes
    through `trigger_user_turn_stopped`, so the floor is applied there."""

    def __init__(self, *, floor_secs: float, **kwargs):
        super().__init__(**kwargs)
        self._floor_secs = floor_secs
        self._quiet_since: float | None = None  # wall clock, as the VAD's frames stamp it
        self._floor_task: asyncio.Task | None = None

    async def _handle_vad_user_stopped_speaking(self, frame):
        self._quiet_since = frame.timestamp - frame.stop_secs
        await super()._handle_vad_user_stopped_speaking(frame)

    async def _discard_pending_end_of_turn(self):
        # The caller spoke again (or a turn boundary): a held end of turn is stale.
        await super()._discard_pending_end_of_turn()
        self._quiet_since = None
        if self._floor_task:
            await self.task_manager.cancel_task(self._floor_task)
            self._floor_task = None

    async def cleanup(self):
        await super().cleanup()
        if self._floor_task:
            await self.task_manager.cancel_task(self._floor_task)
            self._floor_task = None

    async def trigger_user_turn_stopped(self, **kwargs):
        wait = None if self._quiet_since is None else self._quiet_since + self._floor_secs - time.time()
        if wait is None or wait <= 0:
            await super().trigger_user_turn_stopped(**kwargs)
        elif self._floor_task is None:
            self._floor_task = self.task_manager.create_task(
                self._trigger_after(wait, kwargs), f"{self}::_trigger_after_floor")

    async def _trigger_after(self, wait: float, kwargs: dict):
        await asyncio.sleep(wait)
        self._floor_task = None
        await super().trigger_user_turn_stopped(**kwargs)


def vad_params(detection: str) -> VADParams:
    return SMART_TURN_VAD_PARAMS if detection == "smart" else PHONE_VAD_PARAMS


def stop_strategies(detection: str, silence_secs: float) -> list:
    """The user-turn stop strategies for one call; under the silence timeout the turn ends
    `silence_secs` after the caller's last sound (BOT_SILENCE_TIMEOUT_SECS): the VAD's
    pause (PHONE_VAD_PARAMS) plus the rest."""
    if detection == "smart":
        return [FlooredTurnAnalyzerStopStrategy(turn_analyzer=SharedSmartTurnAnalyzer(),
                                                floor_secs=SMART_TURN_FLOOR_SECS)]
    return [SpeechTimeoutUserTurnStopStrategy(
        user_speech_timeout=max(0.0, silence_secs - PHONE_VAD_PARAMS.stop_secs))]
