"""The lite voice stack's services, pocketsphinx STT and espeak-ng TTS, both off the loop,
and the bases the natural stack's services share with them."""

from __future__ import annotations

import asyncio
import io
import logging
import shutil
import wave
from collections import OrderedDict
from collections.abc import AsyncGenerator

import numpy as np
import soxr
from pipecat.frames.frames import ErrorFrame, Frame, TranscriptionFrame, TTSAudioRawFrame
from pipecat.services.settings import STTSettings, TTSSettings
from pipecat.services.stt_service import SegmentedSTTService
from pipecat.services.tts_service import TTSService
from pipecat.utils.time import time_now_iso8601

from botruntime import asr

logger = logging.getLogger(__name__)


class RawSegmentSTTService(SegmentedSTTService):
    """A segmented STT fed raw PCM (no WAV header), with metrics, for services of our own."""

    # Speech end to transcript: Pipecat's default, stated so it does not warn on every call.
    # Our VAD waits 0.5 s (vad.PHONE_VAD_PARAMS) and a decode takes ~0.4 s.
    TTFS_P99_SECS = 1.0

    def __init__(self, **kwargs):
        # Pipecat logs an error per call for settings left unset; these are not switchable.
        super().__init__(settings=STTSettings(model=None, language=None),
                         ttfs_p99_latency=self.TTFS_P99_SECS, **kwargs)

    @property
    def wants_wav_segments(self) -> bool:
        return False

    def can_generate_metrics(self) -> bool:
        return True


class PooledSTTService(RawSegmentSTTService):
    """Transcribes each VAD segment in the process's speech worker pool (`asr.pool`):
    `decoder(*decoder_args, pcm, sample_rate)` runs in a worker and returns the text."""

    ENGINE = ""

    def __init__(self, *, decoder_args: tuple, **kwargs):
        super().__init__(**kwargs)
        self._decoder_args = decoder_args

    @staticmethod
    def decoder(*args) -> str:
        raise NotImplementedError

    async def run_stt(self, audio: bytes) -> AsyncGenerator[Frame, None]:
        await self.start_processing_metrics()
        await self.start_ttfb_metrics()
        loop = asyncio.get_running_loop()
        try:
            text = await loop.run_in_executor(
                asr.pool(), self.decoder, *self._decoder_args, audio, self.sample_rate)
        except Exception as exc:
            yield ErrorFrame(error=f"{self.ENGINE} failed: {exc}")
            return
        finally:
            await self.stop_ttfb_metrics()
            await self.stop_processing_metrics()
        if text:
            logger.debug("heard %r", text)
            yield TranscriptionFrame(text, self._user_id, time_now_iso8601())


class PocketsphinxSTTService(PooledSTTService):
    """pocketsphinx with a small language model of the campaign's phrases."""

    ENGINE = "pocketsphinx"
    decoder = staticmethod(asr.transcribe)

    def __init__(self, *, phrases: tuple[str, ...], **kwargs):
        super().__init__(decoder_args=(phrases,), **kwargs)


def espeak_binary() -> str:
    path = shutil.which("espeak-ng")
    if path is None:
        raise RuntimeError(
            "espeak-ng is not installed: the lite voice stack speaks with it "
            "(apt-get install espeak-ng)."
        )
    return path


class CachedTTSService(TTSService):
    """Speech rendered whole by `render(text)` (off the loop), sent in 100 ms frames.
    Greetings and goodbyes repeat on every call, so rendered phrases are cached."""

    ENGINE = ""
    CACHE_SIZE = 256
    _cache: OrderedDict[tuple, bytes] = OrderedDict()

    def __init__(self, *, voice: str, **kwargs):
        super().__init__(push_start_frame=True, push_stop_frames=True,
                         settings=TTSSettings(model=None, voice=voice, language=None), **kwargs)
        self._voice = voice

    def can_generate_metrics(self) -> bool:
        return True

    async def render(self, text: str) -> bytes:
        """16-bit mono PCM at `self.sample_rate`."""
        raise NotImplementedError

    async def _synthesize(self, text: str) -> bytes:
        key = (self.ENGINE, self._voice, self.sample_rate, text)
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        audio = await self.render(text)
        self._cache[key] = audio
        if len(self._cache) > self.CACHE_SIZE:
            self._cache.popitem(last=False)
        return audio

    async def run_tts(self, text: str, context_id: str) -> AsyncGenerator[Frame, None]:
        await self.start_tts_usage_metrics(text)
        try:
            audio = await self._synthesize(text)
        except Exception as exc:
            yield ErrorFrame(error=f"{self.ENGINE} failed: {exc}")
            return
        finally:
            await self.stop_ttfb_metrics()
        # 100 ms frames: small enough that an interruption stops the bot promptly.
        step = self.sample_rate // 10 * 2
        for start in range(0, len(audio), step):
            yield TTSAudioRawFrame(audio=audio[start:start + step], sample_rate=self.sample_rate,
                                   num_channels=1, context_id=context_id)


class EspeakTTSService(CachedTTSService):
    """espeak-ng in a subprocess (nothing blocks the loop), resampled to the output rate."""

    ENGINE = "espeak-ng"

    def __init__(self, *, voice: str = "en-us", words_per_minute: int = 165, **kwargs):
        super().__init__(voice=f"{voice}@{words_per_minute}", **kwargs)
        self._espeak_voice = voice
        self._wpm = words_per_minute
        self._binary = espeak_binary()

    async def render(self, text: str) -> bytes:
        process = await asyncio.create_subprocess_exec(
            self._binary, "-v", self._espeak_voice, "-s", str(self._wpm), "--stdout", text,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        stdout, stderr = await process.communicate()
        if process.returncode != 0:
            raise RuntimeError(f"espeak-ng exited {process.returncode}: {stderr.decode()[:200]}")
        with wave.open(io.BytesIO(stdout), "rb") as wav:
            rate = wav.getframerate()
            samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
        if rate != self.sample_rate:
            samples = soxr.resample(samples, rate, self.sample_rate).astype("<i2")
        return samples.tobytes()
