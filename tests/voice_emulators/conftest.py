"""The voice emulators on a thread of the test process, and speech to send them."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from twilio_emulator.audio import resample
from twilio_emulator.speech import espeak_pcm
from voice_emulators import VoiceEmulatorsThread

KEY = "voice-tests-key-0123456789"


@pytest.fixture(scope="session")
def voices():
    with VoiceEmulatorsThread(api_key=KEY) as emulators:
        yield emulators


@pytest.fixture(autouse=True)
def _no_faults_left(voices):
    yield
    voices.clear_faults()


def ws_url(voices, path: str) -> str:
    return voices.base_url.replace("http://", "ws://") + path


def speech(text: str, rate: int = 8000, before: float = 0.5, after: float = 1.5) -> bytes:
    """`text` spoken by espeak-ng as 16-bit PCM, with silence either side."""
    samples, espeak_rate = asyncio.run(espeak_pcm(text))
    voiced = resample(samples, espeak_rate, rate)
    silence = np.zeros(int(rate * before), dtype=np.int16), np.zeros(int(rate * after), dtype=np.int16)
    return np.concatenate([silence[0], voiced, silence[1]]).astype("<i2").tobytes()
