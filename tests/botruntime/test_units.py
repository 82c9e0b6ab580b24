"""The parts without a phone line: script, callback times, prompts, the cloud stack."""

import asyncio
import logging
import sys
from datetime import datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from pipecat.frames.frames import TTSSpeakFrame, VADUserStartedSpeakingFrame

from botruntime import cloud, prompts, route_pipecat_logs
from botruntime.script import (
    DEFAULT_SCRIPT,
    ScriptedDialogue,
    merged_script,
    parse_callback_time,
    spoken_when,
    vocabulary,
)
from botruntime.session import BotSession, StreamStart, _NoBargeInOnLastWords
from botruntime.store import CallContext
from botruntime.tools import SCHEMAS, CallTools, register, tools_schema
from tests.botruntime.memory_store import MemoryCallStore

NY = ZoneInfo("America/New_York")


def dialogue() -> ScriptedDialogue:
    return ScriptedDialogue(merged_script({}))


@pytest.mark.parametrize(("heard", "disposition"), [
    ("please do not call me again remove me from your list", "do_not_call"),
    ("no thanks i am not interested", "not_interested"),
    ("i am busy right now please call me back tomorrow at ten", "callback_requested"),
    ("yes i am interested tell me more", "interested"),
    ("you have the wrong number", "wrong_number"),
])
def test_it_maps_the_emulator_callees_phrases_to_dispositions(heard, disposition):
    assert dialogue().respond(heard).disposition == disposition


def test_it_asks_again_when_interested_then_ends_on_the_second_yes():
    talk = dialogue()
    first = talk.respond("yes i am interested tell me more")
    second = talk.respond("that sounds good yes please")
    assert not first.end and second.end and second.disposition == "interested"
    assert second.say[-1] == DEFAULT_SCRIPT["goodbye"]


def test_it_answers_who_is_calling_and_ends_on_goodbye():
    talk = dialogue()
    assert "automated assistant" in talk.respond("hello who is this").say[0]
    assert talk.respond("okay thank you goodbye").end


def test_the_vocabulary_covers_every_emulator_phrase():
    words = {w for phrase in vocabulary(merged_script({})) for w in phrase.split()}
    for line in ["yes i am interested tell me more", "that sounds good yes please",
                 "no thanks i am not interested", "please call me back tomorrow at ten",
                 "please do not call me again remove me from your list", "hello who is this",
                 "okay thank you goodbye"]:
        assert set(line.split()) <= words


def test_it_rejects_an_unknown_disposition_in_a_script():
    with pytest.raises(ValueError, match="unknown disposition"):
        merged_script({"rules": [{"keywords": ["x"], "disposition": "maybe"}]})


def test_it_reads_callback_times():
    now = datetime(2026, 6, 3, 15, 30, tzinfo=NY)  # a Wednesday afternoon
    assert parse_callback_time("call me back tomorrow at ten", now) == datetime(2026, 6, 4, 10, 0, tzinfo=NY)
    assert parse_callback_time("friday at 3", now) == datetime(2026, 6, 5, 15, 0, tzinfo=NY)
    assert parse_callback_time("later", now) == datetime(2026, 6, 3, 17, 30, tzinfo=NY)
    assert parse_callback_time("mumble", now) == datetime(2026, 6, 4, 10, 0, tzinfo=NY)


def context(**fields) -> CallContext:
    defaults = {"call_id": 1, "call_sid": "CA1", "direction": "outbound", "phone": "+12025550101",
                "campaign_id": 1, "campaign_name": "Summer Offers",
                "customer": {"first_name": "Dana", "full_name": "Dana Reyes"}}
    return CallContext(**{**defaults, **fields})


def test_the_greeting_uses_customer_fields_and_the_summer_sale_promotion():
    call = context(greeting_template="Hi {{ first_name }} from {{ campaign_name }}.",
                   parameters={"campaign_id": "summer_sale"})
    assert prompts.greeting(call) == ("Hi Dana from Summer Offers. Our summer sale is on now, with "
                                      "up to thirty percent off everything until the end of the month.")


def test_the_greeting_names_an_unknown_callers_number():
    call = context(direction="inbound", customer={}, campaign_id=None, campaign_name="",
                   parameters={"caller_id": "+12025550123", "session_type": "general"})
    assert prompts.greeting(call).endswith("from the number ending in 0 1 2 3.")


def test_session_type_picks_the_prompt():
    support = prompts.system_prompt(context(parameters={"session_type": "support"}))
    sales = prompts.system_prompt(context(parameters={"session_type": "sales"}))
    assert "customer-support" in support and "sales assistant" in sales
    assert "set_outcome" in sales


def test_a_broken_template_is_spoken_as_written():
    assert prompts.render("Hello {% if %}", {}) == "Hello {% if %}"


def test_a_name_with_an_apostrophe_is_spoken_not_html_escaped():
    spoken = prompts.render('Hello {{ name }}, you said "{{ said }}".', {"name": "O'Brien", "said": "a & b"})
    assert spoken == "Hello O'Brien, you said \"a & b\"."


def test_the_cloud_stack_names_the_missing_key(settings):
    settings.DEEPGRAM_API_KEY, settings.OPENAI_API_KEY, settings.CARTESIA_API_KEY = "dg", "", "ca"
    with pytest.raises(cloud.VoiceStackNotConfigured, match="OPENAI_API_KEY"):
        cloud.build_services()


def test_the_cloud_stack_builds_and_wires_the_tools(settings):
    settings.DEEPGRAM_API_KEY, settings.OPENAI_API_KEY, settings.CARTESIA_API_KEY = "dg", "sk", "ca"
    settings.OPENAI_BASE_URL = "http://127.0.0.1:9/v1"
    stt, llm, tts = cloud.build_services()
    assert type(stt).__name__ == "DeepgramSTTService"
    assert [type(s).__name__ for s in tts.services] == ["HeardCartesiaTTSService", "EspeakTTSService"]
    assert str(llm._client.base_url).startswith("http://127.0.0.1:9/v1")

    async def ended(reason):
        return None

    register(llm, CallTools(context(), ended))
    assert {schema.name for schema in SCHEMAS} <= set(llm._functions)


class RecordingWorker:
    """Stands in for the PipelineWorker: keeps what the session queues."""

    def __init__(self):
        self.frames = []

    async def queue_frame(self, frame):
        self.frames.append(frame)


@pytest.mark.asyncio
async def test_two_amd_results_at_once_leave_one_voicemail(settings):
    # Twilio retries an AMD callback that timed out, and each one reaches the session.
    session = BotSession(StreamStart("MZ1", "CA1", "AC1"), transport=None, store=MemoryCallStore(context()))
    session.call = context()
    session.tools = CallTools(session.call, session.end_after_speech)
    session.worker = RecordingWorker()
    stored = []

    async def slow_transcript(speaker, text):
        await asyncio.sleep(0.05)  # the database write
        stored.append(text)

    session._transcript = slow_transcript
    session.pipeline_running = True
    session._ready.set()

    await asyncio.gather(session.answered_by("machine_end_beep"),
                         session.answered_by("machine_end_beep"))
    for timer in session._timers:
        timer.cancel()

    spoken = [f.text for f in session.worker.frames if isinstance(f, TTSSpeakFrame)]
    assert len(spoken) == 1 and stored == spoken
    assert session.tools.outcome.disposition == "voicemail"


def test_pipecats_logs_go_through_logging_at_the_projects_level(caplog):
    from loguru import logger as loguru_logger

    caplog.set_level(logging.INFO, logger="pipecat")
    route_pipecat_logs()
    try:
        pipecat_logger = loguru_logger.patch(lambda record: record.update(name="pipecat.test"))
        pipecat_logger.debug("frame pushed")
        pipecat_logger.info("call started")
        pipecat_logger.warning("call-level trouble")
    finally:
        loguru_logger.remove()
        loguru_logger.add(sys.stderr)

    assert [(r.name, r.levelname, r.getMessage()) for r in caplog.records] == [
        ("pipecat.test", "INFO", "call started"), ("pipecat.test", "WARNING", "call-level trouble")]


def test_the_cloud_services_are_pointed_at_the_configured_base_urls(settings):
    settings.DEEPGRAM_API_KEY, settings.OPENAI_API_KEY, settings.CARTESIA_API_KEY = "dg", "sk", "ca"
    settings.DEEPGRAM_BASE_URL = "http://127.0.0.1:8090"
    settings.CARTESIA_BASE_URL = "https://voices.example.com"
    stt, _llm, tts = cloud.build_services(keyterms=("call me back",))

    assert stt._client._client_wrapper.get_environment().production == "ws://127.0.0.1:8090"
    assert stt._settings.keyterm == ["call me back"]
    assert tts.services[0]._url == "wss://voices.example.com/tts/websocket"


def test_unset_base_urls_mean_the_real_services(settings):
    settings.DEEPGRAM_API_KEY, settings.OPENAI_API_KEY, settings.CARTESIA_API_KEY = "dg", "sk", "ca"
    settings.DEEPGRAM_BASE_URL = settings.CARTESIA_BASE_URL = ""
    stt, _llm, tts = cloud.build_services()

    assert stt._client._client_wrapper.get_environment().production == "wss://api.deepgram.com"
    assert tts.services[0]._url == "wss://api.cartesia.ai/tts/websocket"


@pytest.mark.parametrize("value", ["ftp://host", "host:8090", "http://"])
def test_a_base_url_that_is_not_one_is_refused_by_name(value, monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    from dialer_site.env import env_base_url

    monkeypatch.setenv("DEEPGRAM_BASE_URL", value)
    with pytest.raises(ImproperlyConfigured, match="DEEPGRAM_BASE_URL"):
        env_base_url("DEEPGRAM_BASE_URL")


@pytest.mark.parametrize(("ending", "interrupts"), [(False, True), (True, False)])
def test_a_caller_interrupts_the_bot_but_not_its_last_words(ending, interrupts):
    """Talking over a reply cuts it; talking over the goodbye or the trouble apology does not
    (the call ends either way, and the caller should hear why)."""
    strategy = _NoBargeInOnLastWords(SimpleNamespace(keeps_its_words=lambda: ending))
    turns = []
    strategy.add_event_handler("on_user_turn_started", lambda _strategy, params: turns.append(params))
    asyncio.run(strategy.process_frame(VADUserStartedSpeakingFrame()))
    assert [turn.enable_interruptions for turn in turns] == [interrupts]


def test_the_speech_workers_share_the_hosts_cores_among_its_web_processes(settings, monkeypatch):
    from botruntime import asr

    monkeypatch.setattr(asr.os, "cpu_count", lambda: 4)
    settings.WEB_PROCESSES = 1
    assert asr.default_workers() == 4
    settings.WEB_PROCESSES = 2
    assert asr.default_workers() == 2
    settings.WEB_PROCESSES = 8
    assert asr.default_workers() == 1


def test_keys_do_what_the_scripts_keypad_says():
    talk = dialogue()
    assert talk.press("5") == talk.press("5") and not talk.press("5").say  # no meaning: ignored
    assert talk.press("1").transfer and dialogue().press("1").reason == "pressed 1 to talk to a person"
    opt_out = dialogue().press("9")
    assert opt_out.disposition == "do_not_call" and opt_out.end and opt_out.notes == "Caller pressed 9."
    again = ScriptedDialogue(merged_script({"keypad": {"0": "repeat"}}))
    asked = again.opening()
    assert again.press("0").say == asked == DEFAULT_SCRIPT["questions"]


def test_a_callback_offered_is_booked_on_a_yes_at_the_time_offered():
    at = datetime(2026, 6, 4, 9, 0, tzinfo=NY)
    talk = dialogue()
    talk.offer_callback("Shall I have one of them call you back then?", at)
    booked = talk.respond("yes please")
    assert (booked.disposition, booked.callback_at, booked.end) == ("callback_requested", at, True)

    declined = dialogue()
    declined.offer_callback("Shall I have one of them call you back?")
    assert declined.respond("no thanks").say == [DEFAULT_SCRIPT["goodbye"]]
    own_time = dialogue()
    own_time.offer_callback("Shall I have one of them call you back?")
    action = own_time.respond("call me back on friday at three")
    assert action.callback_text and action.callback_at is None  # their time, not ours
    unsure = dialogue()
    unsure.offer_callback("Shall I call you back?")
    assert unsure.respond("the weather is nice").say[-1] == "Shall I call you back?"


def test_when_the_agents_are_back_is_said_in_the_callees_words():
    now = datetime(2026, 6, 3, 15, 30, tzinfo=NY)  # a Wednesday
    utc = ZoneInfo("UTC")
    assert spoken_when(datetime(2026, 6, 4, 13, 0, tzinfo=utc), now) == "tomorrow at 9 AM"
    assert spoken_when(datetime(2026, 6, 3, 21, 30, tzinfo=utc), now) == "today at 5:30 PM"
    assert spoken_when(datetime(2026, 6, 8, 13, 0, tzinfo=utc), now) == "on Monday at 9 AM"
    assert spoken_when(datetime(2026, 6, 12, 16, 0, tzinfo=utc), now) == "on June 12 at 12 PM"


def test_the_llm_is_offered_transfer_call_and_told_the_keys_only_when_someone_can_take_calls():
    keypad = DEFAULT_SCRIPT["keypad"]
    without, with_targets = context(), context(can_transfer=True)
    assert "transfer_call" not in {s.name for s in tools_schema(without).standard_tools}
    assert "transfer_call" in {s.name for s in tools_schema(with_targets).standard_tools}
    assert "transfer_call" not in prompts.system_prompt(without, keypad)
    assert "9 = never be called again" in prompts.system_prompt(without, keypad)
    prompt = prompts.system_prompt(with_targets, keypad)
    assert "call transfer_call with a short reason" in prompt
    assert "1 = talk to a person (call transfer_call)" in prompt
