"""The cloud stack when a service fails: the caller never hears silence. A rejected key
pauses the campaign; a stall or a dropped socket is survived or ends the call politely,
with the reason on the call; 429s are retried."""

import pytest

from calls.models import TranscriptLine
from campaigns.models import Campaign, Lead
from tests import factory
from tests.botruntime.helpers import dial, entries
from tests.botruntime.test_cloud_calls import cloud_call, finished
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

TROUBLE = "I am sorry, we are having technical trouble on our side."


def run(daphne, emulator, call):
    sid = dial(emulator, daphne, call)
    snapshot = emulator.wait_for_status(sid, "completed", timeout=60)
    wait_until(lambda: finished(call), timeout=30)
    lines = list(TranscriptLine.objects.filter(call=call).values_list("speaker", "text"))
    return snapshot, lines


@pytest.mark.parametrize(("service", "name", "key"), [
    ("deepgram", "Deepgram", "DEEPGRAM_API_KEY"),
    ("openai", "OpenAI", "OPENAI_API_KEY"),
    ("cartesia", "Cartesia", "CARTESIA_API_KEY"),
])
def test_a_rejected_key_pauses_the_campaign_naming_the_service_and_the_bot_apologises(
        service, name, key, daphne, emulator, voices):
    voices.inject(service, "reject_key", count=5)
    call = cloud_call("+12025550102")

    snapshot, lines = run(daphne, emulator, call)

    campaign = Campaign.objects.get(pk=call.campaign_id)
    assert campaign.status == Campaign.Status.PAUSED
    assert campaign.status_reason.startswith(f"{name} rejected the API key ({key})")
    assert call.metrics["end_reason"] == f"{name} rejected the API key"
    assert any(text.startswith(TROUBLE) for speaker, text in lines if speaker == "bot"), lines
    # Said aloud (by espeak-ng when Cartesia is the one refusing), then hung up over REST.
    assert entries(snapshot, "rest_update")
    assert snapshot["timeline"]["ws_messages_received"]["media"] > 0


def test_a_stalled_llm_gets_the_fallback_line_and_a_clear_end_reason(daphne, emulator, voices):
    voices.inject("openai", "slow_first_byte", seconds=20)
    campaign = factory.offers_campaign(voice_stack=Campaign.VoiceStack.CLOUD,
                                script={"answer_timeout_secs": 3})
    call = factory.outbound_call(campaign, factory.dana("+12025550102"))

    snapshot, lines = run(daphne, emulator, call)

    assert call.metrics["end_reason"] == "no answer within 3 s: OpenAI stalled"
    assert lines[-1][0] == "bot" and lines[-1][1].startswith(TROUBLE), lines
    assert entries(snapshot, "rest_update")
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.RUNNING


def test_a_dropped_deepgram_socket_is_reconnected_and_the_call_goes_on(daphne, emulator, voices):
    connected_before = len(voices.log("deepgram", "connected"))
    voices.inject("deepgram", "drop", seconds=0.3)
    call = cloud_call("+12025550101")  # says two lines: the first is cut off by the drop

    _snapshot, lines = run(daphne, emulator, call)

    assert len(voices.log("deepgram", "connected")) - connected_before >= 2
    assert call.metrics["service_errors"]["stt"]
    assert call.disposition == "interested", lines
    assert Lead.objects.get(pk=call.lead_id).last_outcome == "interested"


def test_a_dropped_cartesia_socket_mid_greeting_is_reconnected(daphne, emulator, voices):
    connected_before = len(voices.log("cartesia", "connected"))
    voices.inject("cartesia", "drop", seconds=0.5)
    call = cloud_call("+12025550102")

    _snapshot, lines = run(daphne, emulator, call)

    assert voices.log("cartesia", "dropped")
    assert len(voices.log("cartesia", "connected")) - connected_before >= 2
    assert call.disposition == "not_interested", lines
    assert any("Thank you for letting me know" in text for speaker, text in lines if speaker == "bot")


def test_a_rate_limited_llm_request_is_retried_and_the_call_goes_on(daphne, emulator, voices):
    rejected_before = len(voices.log("openai", "rejected"))
    voices.inject("openai", "rate_limit", retry_after=1)
    call = cloud_call("+12025550102")

    _snapshot, lines = run(daphne, emulator, call)

    assert [e["status"] for e in voices.log("openai", "rejected")[rejected_before:]] == [429]
    assert call.disposition == "not_interested", lines
    assert "rate_limit" not in str(call.metrics["service_errors"])
