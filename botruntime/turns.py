"""When the caller's turn ends: Smart Turn v3 (the default) or a silence timeout.

Smart Turn listens to the last seconds of the caller's speech and says whether it sounds
finished, so the VAD may stop after a short pause (SMART_TURN_VAD_PARAMS) without cutting
off a caller who pauses mid-sentence. Pipecat's `LocalSmartTurnAnalyzerV3()` opens its ONNX
session in the constructor, on the event loop, once per call (a stall in every other
call): here the session of the model in Pipecat's wheel is opened once per process (at
start-up, see `botruntime.warm_up`) and each call's analyzer keeps only its own audio
buffer and thread over it. `InferenceSession.run` is thread-safe.

The silence timeout (`BOT_TURN_DETECTION=silence`) is the older rule, kept for the bench's
comparison and for hosts that cannot spare Smart Turn's CPU.
"""

from __future__ import annotations

import threading
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
# A caller whose speech Smart Turn keeps calling unfinished is answered after this silence.
SMART_TURN_PARAMS = SmartTurnParams(stop_secs=2.0)

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


def vad_params(detection: str) -> VADParams:
    return SMART_TURN_VAD_PARAMS if detection == "smart" else PHONE_VAD_PARAMS


def stop_strategies(detection: str, silence_secs: float) -> list:
    """The user-turn stop strategies for one call; under the silence timeout the turn ends
    `silence_secs` after the caller's last sound (BOT_SILENCE_TIMEOUT_SECS): the VAD's
    pause (PHONE_VAD_PARAMS) plus the rest."""
    if detection == "smart":
        return [TurnAnalyzerUserTurnStopStrategy(turn_analyzer=SharedSmartTurnAnalyzer())]
    return [SpeechTimeoutUserTurnStopStrategy(
        user_speech_timeout=max(0.0, silence_secs - PHONE_VAD_PARAMS.stop_secs))]
