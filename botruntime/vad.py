"""Silero VAD with one ONNX session for the whole process.

Pipecat's `SileroVADAnalyzer()` loads the model in its constructor, on the event loop, which
stalls every other call for 60-120 ms. Here the session is loaded once (at start-up, see
`warm_up`) and each call gets an analyzer with its own recurrent state over the shared
session. ONNX Runtime's `InferenceSession.run` is thread-safe, and each analyzer runs it on
its own executor thread.
"""

import threading

from pipecat.audio.vad.silero import SileroOnnxModel, SileroVADAnalyzer
from pipecat.audio.vad.vad_analyzer import VADAnalyzer, VADParams

_session = None
_session_lock = threading.Lock()

# Phone speech: start quickly, but wait a little longer than Pipecat's default before
# deciding a caller has stopped, because μ-law line noise makes short pauses look final.
PHONE_VAD_PARAMS = VADParams(confidence=0.7, start_secs=0.2, stop_secs=0.5, min_volume=0.4)


def shared_session():
    """The process's one Silero ONNX session (intra- and inter-op threads: 1)."""
    global _session
    if _session is None:
        with _session_lock:
            if _session is None:
                from importlib import resources

                path = str(resources.files("pipecat.audio.vad.data").joinpath("silero_vad.onnx"))
                _session = SileroOnnxModel(path, force_onnx_cpu=True).session
    return _session


class SharedSileroVADAnalyzer(SileroVADAnalyzer):
    """`SileroVADAnalyzer` minus the model load: state per call, session per process."""

    def __init__(self, *, sample_rate: int | None = None, params: VADParams | None = None):
        VADAnalyzer.__init__(self, sample_rate=sample_rate, params=params or PHONE_VAD_PARAMS)
        model = SileroOnnxModel.__new__(SileroOnnxModel)
        model.session = shared_session()
        model.sample_rates = [8000, 16000]
        model.reset_states()
        self._model = model
        self._windows_since_reset = 0
        self._low_confidence_windows = 0
