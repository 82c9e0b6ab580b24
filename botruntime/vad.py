"""Silero VAD with one ONNX session for the whole process, run only on audio loud enough
to be speech.

Pipecat's `SileroVADAnalyzer()` loads the model in its constructor, on the event loop, which
stalls every other call for 60-120 ms. Here the session is loaded once (at start-up, see
`warm_up`) and each call gets an analyzer with its own recurrent state over the shared
session (ONNX Runtime's `InferenceSession.run` is thread-safe).

Two costs of Pipecat's analyzer are left out, with the same verdicts:

- It hands every 20 ms frame to a thread of its own and back (`run_in_executor`), which
  cost more CPU than the analysis (~0.6 ms a frame against ~0.2 ms of work, measured with
  16 calls in one process) and made every call's threads fight for the GIL. Here the
  analysis runs where it is asked for: a Silero window is a fraction of a millisecond.
- It runs the model on every 32 ms window, although a window counts as speech only if the
  model is confident *and* the smoothed loudness reaches `min_volume`. Here the loudness
  comes first and the model runs only when it could matter: a line in silence (most of a
  call: the caller listening to the bot) costs a loudness reading, and digital silence not
  even that. A skipped window is scored as certain silence for the model's periodic reset.
"""

import threading

import numpy as np
from pipecat.audio.utils import exp_smoothing
from pipecat.audio.vad.silero import SileroOnnxModel, SileroVADAnalyzer
from pipecat.audio.vad.vad_analyzer import VADAnalyzer, VADParams, VADState
from pipecat.audio.volume import VOLUME_WINDOW_SECS

_session = None
_session_lock = threading.Lock()

# Phone speech: start quickly, but wait a little longer than Pipecat's default before
# deciding a caller has stopped, because μ-law line noise makes short pauses look final.
PHONE_VAD_PARAMS = VADParams(confidence=0.7, start_secs=0.2, stop_secs=0.5, min_volume=0.4)

# Audio whose every sample is within this of zero measures below BS.1770's absolute gate
# (-70 LUFS), i.e. volume 0, even at the frequency K-weighting lifts most (±7 at 4 kHz
# measures -69.9 LUFS). μ-law's smallest non-zero level is 8: this is digital silence.
SILENT_PEAK = 6


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
        self._volume = 0.0  # the current window's smoothed volume, measured before the model
        self._silent_samples = 0  # digital silence in a row, up to the current window

    async def analyze_audio(self, buffer: bytes) -> VADState:
        return self._run_analyzer(buffer)

    def voice_confidence(self, buffer) -> float:
        self._volume = volume = exp_smoothing(self._loudness(buffer), self._prev_volume,
                                              self._smoothing_factor)
        if volume < self._params.min_volume:
            self._maybe_reset_model(0.0)  # quiet: not speech, whatever the model would say
            return 0.0
        return super().voice_confidence(buffer)

    def _get_smoothed_volume(self, audio: bytes) -> float:
        return self._volume  # measured by voice_confidence, just before

    def _loudness(self, window: bytes) -> float:
        """The volume Pipecat measures (BS.1770 over the last VOLUME_WINDOW_SECS), without
        measuring it when all of that was digital silence."""
        self._volume_tracker.update(window, self.sample_rate)
        samples = np.frombuffer(window, dtype=np.int16)
        if samples.size and max(int(samples.max()), -int(samples.min())) <= SILENT_PEAK:
            self._silent_samples += samples.size
        else:
            self._silent_samples = 0
        if self._silent_samples >= VOLUME_WINDOW_SECS * self.sample_rate:
            return 0.0
        return self._volume_tracker.volume
