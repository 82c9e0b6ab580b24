"""G.711 μ-law audio at 8 kHz, the only format a Twilio Media Stream carries.

Implemented with numpy rather than the stdlib `audioop`, which Python 3.13 removed, but
bit-exact with `audioop.lin2ulaw`/`ulaw2lin`: Pipecat's Twilio serializer encodes and decodes
with audioop, so the emulated callee's line sounds to the bot like the bot's own does.
"""

from __future__ import annotations

import wave
from pathlib import Path
from typing import BinaryIO

import numpy as np
import soxr

SAMPLE_RATE = 8000
FRAME_MS = 20
FRAME_BYTES = SAMPLE_RATE * FRAME_MS // 1000  # 160 μ-law bytes = one 20 ms media message
ULAW_SILENCE = 0xFF
SILENCE_FRAME = bytes([ULAW_SILENCE]) * FRAME_BYTES

# Above this RMS (16-bit scale) a frame counts as speech. Digital silence decodes to 0,
# line noise from a TTS engine stays well under it.
SPEECH_RMS = 300.0

_BIAS = 0x84


def _build_decode_table() -> np.ndarray:
    codes = ~np.arange(256, dtype=np.int32) & 0xFF
    sign = codes & 0x80
    exponent = (codes >> 4) & 0x07
    mantissa = codes & 0x0F
    magnitude = (((mantissa << 3) + _BIAS) << exponent) - _BIAS
    return np.where(sign != 0, -magnitude, magnitude).astype(np.int16)


_DECODE = _build_decode_table()

# The encoder is audioop's (CPython's Modules/audioop.c, from Sun's g711.c): it works on
# 14-bit samples, so the 16-bit value is shifted right first, which floors negative values
# (-1 becomes -1, not 0). Encoding by the float log2 of |x| + bias instead, as this module
# once did, differed from audioop on 381 of the 65,536 inputs.
_BIAS_14 = _BIAS >> 2
_CLIP_14 = 8159
_SEGMENT_ENDS = np.array([0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF], dtype=np.int32)


def ulaw_to_pcm16(data: bytes) -> np.ndarray:
    return _DECODE[np.frombuffer(data, dtype=np.uint8)]


def pcm16_to_ulaw(samples: np.ndarray) -> bytes:
    pcm = np.clip(np.asarray(samples), -32768, 32767).astype(np.int32) >> 2
    negative = pcm < 0
    magnitude = np.minimum(np.abs(pcm), _CLIP_14) + _BIAS_14
    segment = np.searchsorted(_SEGMENT_ENDS, magnitude)  # first end >= magnitude
    code = (np.minimum(segment, 7) << 4) | ((magnitude >> (segment + 1)) & 0x0F)
    code = np.where(segment >= 8, 0x7F, code)  # only at the clip level
    return (code ^ np.where(negative, 0x7F, 0xFF)).astype(np.uint8).tobytes()


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
    """Resample with libsoxr (the `soxr` package Pipecat itself resamples with).

    Why not numpy: the hand-made 63-tap windowed sinc and linear interpolation this module
    used smeared espeak-ng's 22,050 Hz speech enough that pocketsphinx misheard the callees
    ("No thanks, I am not interested" came out as "okay the good"); the same sentences
    resampled with soxr were recognised almost word for word.
    """
    if samples.size == 0:
        return np.zeros(0, dtype=np.int16)
    signal = np.asarray(samples, dtype=np.float32)
    if from_rate != to_rate:
        signal = soxr.resample(signal, from_rate, to_rate)
    return np.clip(np.rint(signal), -32768, 32767).astype(np.int16)


def tone(frequency: float, seconds: float, amplitude: int = 8000) -> bytes:
    """A sine tone in μ-law, e.g. the answering machine's beep."""
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return pcm16_to_ulaw(amplitude * np.sin(2 * np.pi * frequency * t))


def read_wav_as_ulaw(path: Path | BinaryIO) -> bytes:
    """Any 8/16-bit PCM WAV (mono or stereo, any rate) as 8 kHz μ-law."""
    with wave.open(str(path) if isinstance(path, Path) else path, "rb") as wav:
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
