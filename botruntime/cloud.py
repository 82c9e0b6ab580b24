"""The cloud voice stack: Deepgram STT, an OpenAI-compatible LLM, Cartesia TTS."""

from __future__ import annotations

from django.conf import settings

REQUIRED_KEYS = ("DEEPGRAM_API_KEY", "OPENAI_API_KEY", "CARTESIA_API_KEY")


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


def websocket_url(base_url: str, path: str) -> str:
    """`http(s)://host[:port]` -> `ws(s)://host[:port]{path}`."""
    return "ws" + base_url.removeprefix("http") + path


def build_services(sample_rate: int = 8000, keyterms: tuple[str, ...] = ()):
    """(stt, llm, tts) for one call, with keys and endpoints from settings. `keyterms`:
    the phrases the campaign listens for, as Deepgram keyterm prompting."""
    check_cloud_stack()
    from pipecat.services.cartesia.tts import CartesiaTTSService
    from pipecat.services.deepgram.stt import DeepgramSTTService
    from pipecat.services.openai.llm import OpenAILLMService

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
    tts = CartesiaTTSService(
        api_key=settings.CARTESIA_API_KEY,
        url=(websocket_url(settings.CARTESIA_BASE_URL, "/tts/websocket")
             if settings.CARTESIA_BASE_URL else CARTESIA_WEBSOCKET),
        sample_rate=sample_rate,
        settings=CartesiaTTSService.Settings(voice=settings.CARTESIA_VOICE_ID),
    )
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
