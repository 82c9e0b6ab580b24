"""Fixed-latency stand-ins for the cloud services, to measure framework overhead alone.

Selected with BOT_SERVICES=standin (bench/concurrent_calls.py sets it): STT answers a fixed
time after the caller stops, the "LLM" is the scripted agent after a fixed think time, and
TTS returns tone audio of a length proportional to the text after a fixed first byte.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

import numpy as np
from pipecat.frames.frames import Frame, LLMContextFrame, TranscriptionFrame, TTSAudioRawFrame
from pipecat.processors.frame_processor import FrameDirection
from pipecat.services.settings import TTSSettings
from pipecat.services.tts_service import TTSService
from pipecat.utils.time import time_now_iso8601

from botruntime.agent import ScriptedAgent
from botruntime.local import RawSegmentSTTService

STT_SECS = 0.15
LLM_SECS = 0.25
TTS_TTFB_SECS = 0.10
STANDIN_TEXT = "please do not call me again remove me from your list"
SECONDS_PER_CHAR = 0.06


class StandInSTT(RawSegmentSTTService):
    def __init__(self, text: str = STANDIN_TEXT, **kwargs):
        super().__init__(**kwargs)
        self._text = text

    async def run_stt(self, audio: bytes) -> AsyncGenerator[Frame, None]:
        await self.start_ttfb_metrics()
        await asyncio.sleep(STT_SECS)
        await self.stop_ttfb_metrics()
        yield TranscriptionFrame(self._text, self._user_id, time_now_iso8601())


class StandInAgent(ScriptedAgent):
    async def process_frame(self, frame: Frame, direction: FrameDirection):
        if isinstance(frame, LLMContextFrame):
            await asyncio.sleep(LLM_SECS)
        await super().process_frame(frame, direction)


class StandInTTS(TTSService):
    def __init__(self, **kwargs):
        super().__init__(push_start_frame=True, push_stop_frames=True,
                         settings=TTSSettings(model=None, voice=None, language=None), **kwargs)

    def can_generate_metrics(self) -> bool:
        return True

    async def run_tts(self, text: str, context_id: str) -> AsyncGenerator[Frame, None]:
        await asyncio.sleep(TTS_TTFB_SECS)
        await self.stop_ttfb_metrics()
        seconds = max(0.5, len(text) * SECONDS_PER_CHAR)
        t = np.arange(int(seconds * self.sample_rate)) / self.sample_rate
        audio = (3000 * np.sin(2 * np.pi * 300 * t)).astype("<i2").tobytes()
        step = self.sample_rate // 10 * 2
        for start in range(0, len(audio), step):
            yield TTSAudioRawFrame(audio=audio[start:start + step], sample_rate=self.sample_rate,
                                   num_channels=1, context_id=context_id)


def standin_services(session, script: dict, template_context: dict):
    """A `BotSession.services_factory`: (stt, brain, tts, opening lines)."""
    from botruntime.script import ScriptedDialogue

    agent = StandInAgent(ScriptedDialogue(script), session.tools, template_context)
    session.agent = agent
    return StandInSTT(), agent, StandInTTS(), agent.opening()
