"""G.711 μ-law audio at 8 kHz, the only format a Twilio Media Stream carries.

Implemented with numpy rather than the stdlib `audioop`, which Python 3.13 removed.
"""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

SAMPLE_RATE = 8000
FRAME_MS = 20
FRAME_BYTES = SAMPLE_RATE * FRAME_MS // 1000  # 160 μ-law bytes = one 20 ms media message
ULAW_SILENCE = 0xFF
SILENCE_FRAME = bytes([ULAW_SILENCE]) * FRAME_BYTES

# Above this RMS (16-bit scale) a frame counts as speech. Digital silence decodes to 0,
# line noise from a TTS engine stays well under it.
SPEECH_RMS = 300.0

_BIAS = 0x84
_CLIP = 32635


def _build_decode_table() -> np.ndarray:
    codes = ~np.arange(256, dtype=np.int32) & 0xFF
    sign = codes & 0x80
    exponent = (codes >> 4) & 0x07
    mantissa = codes & 0x0F
    magnitude = (((mantissa << 3) + _BIAS) << exponent) - _BIAS
    return np.where(sign != 0, -magnitude, magnitude).astype(np.int16)


_DECODE = _build_decode_table()


def ulaw_to_pcm16(data: bytes) -> np.ndarray:
    return _DECODE[np.frombuffer(data, dtype=np.uint8)]


def pcm16_to_ulaw(samples: np.ndarray) -> bytes:
    pcm = np.clip(samples.astype(np.int32), -_CLIP, _CLIP)
    sign = np.where(pcm < 0, 0x80, 0x00)
    magnitude = np.abs(pcm) + _BIAS
    # Exponent = position of the highest set bit above bit 7, capped at 7.
    exponent = np.clip(np.floor(np.log2(magnitude)).astype(np.int32) - 7, 0, 7)
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    return (~(sign | (exponent << 4) | mantissa) & 0xFF).astype(np.uint8).tobytes()


_SQUARES = _DECODE.astype(np.float64) ** 2


def frame_rms(ulaw_frame: bytes) -> float:
    if not ulaw_frame:
        return 0.0
    return float(np.sqrt(_SQUARES[np.frombuffer(ulaw_frame, dtype=np.uint8)].sum()
                         / len(ulaw_frame)))


def is_speech(ulaw_frame: bytes) -> bool:
    # Most frames on a call are pure silence: skip the arithmetic for them.
    return ulaw_frame != SILENCE_FRAME and frame_rms(ulaw_frame) > SPEECH_RMS


def resample(samples: np.ndarray, from_rate: int, to_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Band-limit then interpolate: good enough for telephone-quality speech."""
    if from_rate == to_rate or samples.size == 0:
        return samples.astype(np.int16)
    signal = samples.astype(np.float64)
    if to_rate < from_rate:
        # Windowed-sinc low-pass just under the new Nyquist frequency to avoid aliasing.
        cutoff = 0.45 * to_rate / from_rate
        taps = np.arange(-31, 32)
        kernel = 2 * cutoff * np.sinc(2 * cutoff * taps) * np.hamming(taps.size)
        signal = np.convolve(signal, kernel / kernel.sum(), mode="same")
    duration = samples.size / from_rate
    new_times = np.arange(int(duration * to_rate)) / to_rate
    old_times = np.arange(samples.size) / from_rate
    return np.clip(np.interp(new_times, old_times, signal), -32768, 32767).astype(np.int16)


def tone(frequency: float, seconds: float, amplitude: int = 8000) -> bytes:
    """A sine tone in μ-law, e.g. the answering machine's beep."""
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return pcm16_to_ulaw(amplitude * np.sin(2 * np.pi * frequency * t))


def read_wav_as_ulaw(path: Path) -> bytes:
    """Any 8/16-bit PCM WAV (mono or stereo, any rate) as 8 kHz μ-law."""
    with wave.open(str(path), "rb") as wav:
        channels, width, rate = wav.getnchannels(), wav.getsampwidth(), wav.getframerate()
        raw = wav.readframes(wav.getnframes())
    if width == 2:
        samples = np.frombuffer(raw, dtype="<i2").astype(np.int32)
    elif width == 1:
        samples = (np.frombuffer(raw, dtype=np.uint8).astype(np.int32) - 128) << 8
    else:
        raise ValueError(f"{path}: only 8- or 16-bit PCM WAV files are supported")
    if channels > 1:
        samples = samples.reshape(-1, channels).mean(axis=1).astype(np.int32)
    return pcm16_to_ulaw(resample(samples, rate))


class WavRecorder:
    """Writes 16-bit PCM at 8 kHz, one channel per side, as the audio plays.

    μ-law frames are kept and converted about once a second, in one go: a hundred
    calls each converting and writing fifty small frames a second would cost the event
    loop far more.
    """

    FLUSH_EVERY = 50

    def __init__(self, path: Path, channels: int = 1) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.channels = channels
        # Open for the whole call (closed by close()): frames arrive as the call goes on.
        self._wav = wave.open(str(path), "wb")  # noqa: SIM115
        self._wav.setnchannels(channels)
        self._wav.setsampwidth(2)
        self._wav.setframerate(SAMPLE_RATE)
        self._pending: list[list[bytes]] = [[] for _ in range(channels)]
        self.frames_written = 0

    def write(self, *ulaw_frames: bytes) -> None:
        """One 20 ms μ-law frame per channel."""
        for pending, frame in zip(self._pending, ulaw_frames, strict=True):
            pending.append(frame)
        self.frames_written += 1
        if len(self._pending[0]) >= self.FLUSH_EVERY:
            self.flush()

    def flush(self) -> None:
        if not self._pending[0] or self._wav is None:
            return
        channels = [ulaw_to_pcm16(b"".join(frames)) for frames in self._pending]
        interleaved = np.stack(channels, axis=1).reshape(-1) if len(channels) > 1 else channels[0]
        self._wav.writeframesraw(interleaved.astype("<i2").tobytes())
        for pending in self._pending:
            pending.clear()

    def close(self) -> None:
        if self._wav is not None:
            self.flush()
            self._wav.close()
            self._wav = None

    @property
    def seconds(self) -> float:
        return self.frames_written * FRAME_MS / 1000
