"""The cloud voice stack: Deepgram STT, an OpenAI-compatible LLM, Cartesia TTS."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Awaitable, Callable

from django.conf import settings
from pipecat.frames.frames import ErrorFrame, Frame, InterruptionFrame, TTSAudioRawFrame
from pipecat.processors.frame_processor import FrameDirection
from pipecat.services.cartesia.tts import CartesiaTTSService
from websockets.exceptions import ConnectionClosed

REQUIRED_KEYS = ("DEEPGRAM_API_KEY", "OPENAI_API_KEY", "CARTESIA_API_KEY")
# Pipecat's service class -> the service and its key, for the reasons staff read.
SERVICES = {
    "DeepgramSTTService": ("Deepgram", "DEEPGRAM_API_KEY"),
    "OpenAILLMService": ("OpenAI", "OPENAI_API_KEY"),
    "CartesiaTTSService": ("Cartesia", "CARTESIA_API_KEY"),
}


def service_of(processor) -> tuple[str, str]:
    """(service name, its key's setting) for a Pipecat service, e.g. ("Deepgram", …)."""
    for cls in type(processor).__mro__:
        if cls.__name__ in SERVICES:
            return SERVICES[cls.__name__]
    return type(processor).__name__, ""


class VoiceStackNotConfigured(Exception):
    """A campaign asks for a stack whose keys are missing; the message names the key."""


def missing_keys() -> list[str]:
    return [name for name in REQUIRED_KEYS if not getattr(settings, name, "")]


def check_cloud_stack() -> None:
    """Raise if the cloud stack cannot run. Call before starting a `cloud` campaign."""
    missing = missing_keys()
    if missing:
        raise VoiceStackNotConfigured(
            f"The cloud voice stack needs {', '.join(missing)}: set it in the environment."
        )


CARTESIA_WEBSOCKET = "wss://api.cartesia.ai/tts/websocket"

# (the context's text, its words with their start times) -> the session cuts the line.
Interrupted = Callable[[str, list[tuple[str, float]]], Awaitable[None]]


class HeardCartesiaTTSService(CartesiaTTSService):
    """Cartesia, keeping the last contexts' text and word times, so that when the caller
    talks over the bot the line playing can be cut where they stopped hearing it.

    The line playing is the context of the last audio sent on: Cartesia is faster than
    real time, so a context is often complete (and Pipecat's own interruption hook no
    longer called for it) while the caller is still hearing it."""

    KEPT = 8  # contexts remembered; older ones have long finished playing

    def __init__(self, *, on_interrupted: Interrupted | None = None, **kwargs):
        super().__init__(**kwargs)
        self._on_interrupted = on_interrupted
        self._texts: dict[str, str] = {}
        self._words: dict[str, list[tuple[str, float]]] = {}
        self._playing: str | None = None
        self.last_error: ErrorFrame | None = None

    async def push_error_frame(self, error: ErrorFrame, force_treat_as_permanent: bool = False):
        # Kept for the session: a failover switcher absorbs the errors it switches over.
        self.last_error = error
        await super().push_error_frame(error, force_treat_as_permanent)

    async def run_tts(self, text: str, context_id: str):
        self._texts[context_id] = f"{self._texts.pop(context_id, '')} {text}".strip()
        while len(self._texts) > self.KEPT:
            self._words.pop(self._texts.pop(next(iter(self._texts))), None)
        async for frame in super().run_tts(text, context_id):
            yield frame

    async def add_word_timestamps(self, word_times, context_id=None, *args, **kwargs):
        if context_id in self._texts:
            self._words.setdefault(context_id, []).extend(word_times)
        await super().add_word_timestamps(word_times, context_id, *args, **kwargs)

    async def push_frame(self, frame: Frame, direction: FrameDirection = FrameDirection.DOWNSTREAM):
        if isinstance(frame, TTSAudioRawFrame) and direction == FrameDirection.DOWNSTREAM:
            self._playing = frame.context_id
        await super().push_frame(frame, direction)

    async def process_frame(self, frame: Frame, direction: FrameDirection):
        # Before the interruption goes on to the transport, which still knows how far it got.
        if isinstance(frame, InterruptionFrame) and self._playing:
            playing, self._playing = self._playing, None
            text, words = self._texts.pop(playing, ""), self._words.pop(playing, [])
            if playing not in self.get_audio_contexts() and self._websocket:
                # Pipecat cancels only contexts still being received; tell Cartesia anyway,
                # in case it is still generating what will never be played.
                with contextlib.suppress(ConnectionClosed):  # it reconnects by itself
                    await self._websocket.send(json.dumps({"context_id": playing, "cancel": True}))
            if text and self._on_interrupted:
                await self._on_interrupted(text, words)
        await super().process_frame(frame, direction)


def on_failover(tts, failed: Callable[[ErrorFrame], Awaitable[None]]) -> None:
    """Call `failed` with the error that made the TTS switcher move off Cartesia, which
    it absorbs rather than pass on."""
    primary = tts.services[0]

    @tts.strategy.event_handler("on_service_switched")
    async def switched(_strategy, _service):
        if primary.last_error is not None:
            await failed(primary.last_error)


def websocket_url(base_url: str, path: str) -> str:
    """`http(s)://host[:port]` -> `ws(s)://host[:port]{path}`."""
    return "ws" + base_url.removeprefix("http") + path


def build_services(sample_rate: int = 8000, keyterms: tuple[str, ...] = (),
                   on_interrupted: Interrupted | None = None):
    """(stt, llm, tts) for one call, with keys and endpoints from settings. `keyterms`:
    the phrases the campaign listens for, as Deepgram keyterm prompting; `on_interrupted`
    hears of each line the caller talked over."""
    check_cloud_stack()
    from pipecat.pipeline.service_switcher import ServiceSwitcher, ServiceSwitcherStrategyFailover
    from pipecat.services.deepgram.stt import DeepgramSTTService
    from pipecat.services.openai.llm import OpenAILLMService

    from botruntime.local import EspeakTTSService

    stt = DeepgramSTTService(
        api_key=settings.DEEPGRAM_API_KEY,
        base_url=settings.DEEPGRAM_BASE_URL,  # "" is Deepgram's own
        sample_rate=sample_rate,
        settings=DeepgramSTTService.Settings(model="nova-3-general", language="en-US",
                                             keyterm=list(keyterms) or None),
    )
    llm = OpenAILLMService(
        api_key=settings.OPENAI_API_KEY,
        base_url=settings.OPENAI_BASE_URL or None,
        settings=OpenAILLMService.Settings(model=settings.OPENAI_MODEL),
    )
    cartesia = HeardCartesiaTTSService(
        on_interrupted=on_interrupted,
        api_key=settings.CARTESIA_API_KEY,
        url=(websocket_url(settings.CARTESIA_BASE_URL, "/tts/websocket")
             if settings.CARTESIA_BASE_URL else CARTESIA_WEBSOCKET),
        sample_rate=sample_rate,
        settings=HeardCartesiaTTSService.Settings(voice=settings.CARTESIA_VOICE_ID),
    )
    # Should Cartesia refuse to work (a rejected key), espeak-ng says the goodbye: a caller
    # must never be left in silence.
    tts = ServiceSwitcher([cartesia, EspeakTTSService()], strategy_type=ServiceSwitcherStrategyFailover)
    return stt, llm, tts


async def summarize(transcript: list[tuple[str, str]], outcome: str) -> str:
    """One paragraph from the LLM; the caller falls back to the local summary on failure."""
    from openai import AsyncOpenAI

    client = AsyncOpenAI(api_key=settings.OPENAI_API_KEY, base_url=settings.OPENAI_BASE_URL or None,
                         timeout=20)
    lines = "\n".join(f"{speaker}: {text}" for speaker, text in transcript)
    response = await client.chat.completions.create(
        model=settings.OPENAI_MODEL,
        messages=[
            {"role": "system", "content": "Summarise this phone call for a sales team in one "
             "short paragraph: who was called, what they said, the outcome and any follow-up."},
            {"role": "user", "content": f"Outcome: {outcome or 'none'}\n\n{lines}"},
        ],
    )
    return (response.choices[0].message.content or "").strip()
