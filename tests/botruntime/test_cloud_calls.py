"""The cloud stack end to end: the Twilio emulator's callee talks to the bot in a real
daphne process, which hears through Deepgram, thinks with the OpenAI API and speaks
through Cartesia — all three the voice emulators."""

import pytest

from calls.models import Call, TranscriptLine
from campaigns.models import Campaign, DoNotCall, Lead
from tests import factory
from tests.botruntime.helpers import dial, entries
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def finished(call: Call) -> Call | None:
    call.refresh_from_db()
    return call if call.summary else None


def cloud_call(number: str) -> Call:
    campaign = factory.offers_campaign(voice_stack=Campaign.VoiceStack.CLOUD)
    return factory.outbound_call(campaign, factory.dana(number))


def test_a_campaign_call_on_the_cloud_stack_hears_answers_calls_tools_and_hangs_up(
        daphne, emulator, voices):
    call = cloud_call("+12025550107")  # the callee who asks never to be called again

    sid = dial(emulator, daphne, call)
    snapshot = emulator.wait_for_status(sid, "completed", timeout=60)
    wait_until(lambda: finished(call), timeout=20)

    lines = list(TranscriptLine.objects.filter(call=call).values_list("speaker", "text"))
    assert lines[0][0] == "bot" and lines[0][1].startswith("Hello Dana"), lines
    # Deepgram heard the callee, the LLM answered and called its tools, Cartesia spoke.
    heard = " ".join(text.lower() for speaker, text in lines if speaker == "caller")
    assert "do not call me" in heard or "remove me" in heard, lines
    assert any("remove your number" in text for speaker, text in lines if speaker == "bot"), lines
    assert call.disposition == "do_not_call"
    assert DoNotCall.objects.filter(phone="+12025550107", source="bot").exists()
    assert Lead.objects.get(pk=call.lead_id).last_outcome == "do_not_call"
    assert entries(snapshot, "rest_update")  # the bot hung up through Twilio's REST API
    assert call.summary.startswith("Call summary:")  # written by the LLM
    # What the services were asked: the campaign's prompt and tools, the call's audio format.
    completion = voices.log("openai", "completion")
    assert any(c["tools"] == ["set_outcome"] for c in completion)
    assert any(c["tools"] == ["end_call"] for c in completion)
    query = voices.log("deepgram", "connected")[-1]["query"]
    assert query["encoding"] == "linear16" and query["sample_rate"] == "8000"
    assert any("remove your number" in r["transcript"] for r in voices.log("cartesia", "request"))
    # Latency figures like a local call's: caller stops -> bot audio, and each service's TTFB.
    assert call.metrics["caller_stop_to_bot_audio_ms"]
    assert {"stt", "llm", "tts"} <= set(call.metrics["ttfb_ms"]), call.metrics


GREETING = "Hello Dana, this is an automated assistant calling from Summer Offers."


def test_a_caller_talking_over_the_bot_is_heard_and_the_line_kept_as_they_heard_it(
        daphne, emulator, voices):
    asked_before = len(voices.log("openai", "completion"))
    call = cloud_call("+12025550109")  # talks over the greeting: "No thanks, I am not interested."

    sid = dial(emulator, daphne, call)
    snapshot = emulator.wait_for_status(sid, "completed", timeout=60)
    wait_until(lambda: finished(call), timeout=20)

    # Twilio was told to drop the rest of the greeting, and Cartesia to stop speaking it.
    assert entries(snapshot, "stream_clear")[0]["dropped_seconds"] > 0
    assert any(c["known"] for c in voices.log("cartesia", "cancel"))
    # The greeting is stored as far as it was heard, the rest kept apart.
    greeting = TranscriptLine.objects.filter(call=call, speaker="bot").first()
    assert greeting.unheard, greeting.text
    assert f"{greeting.text} {greeting.unheard}".strip() == GREETING
    assert call.metrics["interruptions"][0]["words_heard"] == len(greeting.text.split())
    # The LLM was told only what the caller heard.
    asked = voices.log("openai", "completion")[asked_before]
    said = [m["content"] for m in asked["messages"] if m["role"] == "assistant"]
    assert GREETING not in said
    assert said[:1] == ([greeting.text] if greeting.text else [])
    assert call.disposition == "not_interested"
