"""The local voice stack's services: pocketsphinx STT and espeak-ng TTS, both off the loop."""

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


class PocketsphinxSTTService(RawSegmentSTTService):
    """Transcribes each VAD segment in the decode process pool with a campaign vocabulary."""

    def __init__(self, *, phrases: tuple[str, ...], **kwargs):
        super().__init__(**kwargs)
        self._phrases = phrases

    async def run_stt(self, audio: bytes) -> AsyncGenerator[Frame, None]:
        await self.start_processing_metrics()
        await self.start_ttfb_metrics()
        loop = asyncio.get_running_loop()
        try:
            text = await loop.run_in_executor(
                asr.pool(), asr.transcribe, self._phrases, audio, self.sample_rate
            )
        except Exception as exc:
            yield ErrorFrame(error=f"pocketsphinx failed: {exc}")
            return
        finally:
            await self.stop_ttfb_metrics()
            await self.stop_processing_metrics()
        if text:
            logger.debug("heard %r", text)
            yield TranscriptionFrame(text, self._user_id, time_now_iso8601())


def espeak_binary() -> str:
    path = shutil.which("espeak-ng")
    if path is None:
        raise RuntimeError(
            "espeak-ng is not installed: the local voice stack speaks with it "
            "(apt-get install espeak-ng)."
        )
    return path


class EspeakTTSService(TTSService):
    """espeak-ng in a subprocess (nothing blocks the loop), resampled to the output rate.
    Greetings and goodbyes repeat on every call, so synthesised phrases are cached."""

    CACHE_SIZE = 256
    _cache: OrderedDict[tuple, bytes] = OrderedDict()

    def __init__(self, *, voice: str = "en-us", words_per_minute: int = 165, **kwargs):
        super().__init__(push_start_frame=True, push_stop_frames=True,
                         settings=TTSSettings(model=None, voice=voice, language=None), **kwargs)
        self._voice = voice
        self._wpm = words_per_minute
        self._binary = espeak_binary()

    def can_generate_metrics(self) -> bool:
        return True

    async def _synthesize(self, text: str) -> bytes:
        key = (self._voice, self._wpm, self.sample_rate, text)
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        process = await asyncio.create_subprocess_exec(
            self._binary, "-v", self._voice, "-s", str(self._wpm), "--stdout", text,
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
        audio = samples.tobytes()
        self._cache[key] = audio
        if len(self._cache) > self.CACHE_SIZE:
            self._cache.popitem(last=False)
        return audio

    async def run_tts(self, text: str, context_id: str) -> AsyncGenerator[Frame, None]:
        await self.start_tts_usage_metrics(text)
        try:
            audio = await self._synthesize(text)
        except Exception as exc:
            yield ErrorFrame(error=f"espeak-ng failed: {exc}")
            return
        finally:
            await self.stop_ttfb_metrics()
        # 100 ms frames: small enough that an interruption stops the bot promptly.
        step = self.sample_rate // 10 * 2
        for start in range(0, len(audio), step):
            yield TTSAudioRawFrame(audio=audio[start:start + step], sample_rate=self.sample_rate,
                                   num_channels=1, context_id=context_id)
