"""Handing the caller to a person, as the bot does it: whole sessions against the in-memory
store, the caller speaking (and pressing keys) over a Channels transport as Twilio would.
The recogniser is a stand-in that hears the given sentences in turn, the brain the scripted
agent (the local stacks') or the OpenAI API's emulator (the cloud stack's)."""

import asyncio
import json
import shutil
import time
from collections.abc import AsyncGenerator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pipecat.frames.frames import Frame, TranscriptionFrame
from pipecat.utils.time import time_now_iso8601

from botruntime.script import ScriptedDialogue
from botruntime.session import BotSession, StreamStart
from botruntime.standins import StandInAgent, StandInSTT, StandInTTS
from botruntime.store import CallContext, Refusal, TransferAnswer
from botruntime.tools import register
from tests.botruntime.conftest import VOICE_KEY
from tests.botruntime.memory_store import MemoryCallStore
from tests.botruntime.test_memory_store import TwilioSide
from twilio_emulator.audio import ULAW_SILENCE
from twilio_emulator.speech import Synthesizer

pytestmark = [
    pytest.mark.asyncio,
    pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed"),
]
NY = ZoneInfo("America/New_York")
HOLD = "Please hold while I connect you with a specialist."
STARTED = TransferAnswer(started=True)


class HeardInTurn(StandInSTT):
    """Hears the next of `texts` in each stretch of caller speech."""

    def __init__(self, texts: list[str], **kwargs):
        super().__init__(**kwargs)
        self._texts = texts

    async def run_stt(self, audio: bytes) -> AsyncGenerator[Frame, None]:
        if self._texts:
            yield TranscriptionFrame(self._texts.pop(0), self._user_id, time_now_iso8601())


def scripted(*heard: str):
    """The local stacks' brain (the scripted agent), hearing `heard` in turn."""

    def services(session, script, template_context):
        session.agent = StandInAgent(ScriptedDialogue(script), session.tools, template_context)
        return HeardInTurn(list(heard)), session.agent, StandInTTS(), session.agent.opening()

    return services


def cloud(voices, *heard: str):
    """The cloud stack's brain: an OpenAI LLM (the emulator) calling the bot's tools."""

    def services(session, script, template_context):
        from pipecat.services.openai.llm import OpenAILLMService

        llm = OpenAILLMService(api_key=VOICE_KEY, base_url=f"{voices.base_url}/v1",
                               settings=OpenAILLMService.Settings(model="gpt-4o-mini"))
        register(llm, session.tools)
        return HeardInTurn(list(heard)), llm, StandInTTS(), []

    return services


def context(**fields) -> CallContext:
    defaults = {"call_id": 7, "call_sid": "CA1", "direction": "outbound", "phone": "+12025550101",
                "lead_id": 3, "campaign_id": 1, "campaign_name": "Summer Offers",
                "greeting_template": "Hello {{ first_name }}.", "timezone": "America/New_York",
                "customer": {"first_name": "Dana", "full_name": "Dana Reyes"}}
    return CallContext(**{**defaults, **fields})


class Call:
    """One session on the line: the caller's side and what the store kept."""

    def __init__(self, store: MemoryCallStore, services, tmp_path):
        self.store = store
        self.twilio = TwilioSide()
        self.synthesizer = Synthesizer(tmp_path)
        self.hung_up = False
        self.twilio.session = self.session = BotSession.over_channels(
            StreamStart("MZ1", "CA1", "AC1", dict(store.call.parameters)), self.twilio.send,
            self.twilio.close, store=store, services_factory=services)

        async def hang_up():  # the serializer's REST hang-up: never after a hand-off
            self.hung_up = True

        self.session.serializer()._hang_up_call = hang_up

    async def speak(self) -> None:
        """One stretch of caller speech (what it says is the stand-in recogniser's)."""
        await self.session._ready.wait()
        silence = bytes([ULAW_SILENCE]) * 4000
        await self.twilio.say(silence + await self.synthesizer.ulaw("Hello there.") + silence)

    async def press(self, digit: str) -> None:
        await self.session._ready.wait()
        self.session.transport.feed("dtmf", json.dumps(
            {"event": "dtmf", "streamSid": "MZ1", "dtmf": {"track": "inbound_track", "digit": digit}}))

    async def bot_said(self, words: str, timeout: float = 20) -> None:
        async def said():
            while not any(s == "bot" and words in t for s, t in self.store.lines):
                await asyncio.sleep(0.05)

        await asyncio.wait_for(said(), timeout)

    async def redirected(self) -> None:
        """Twilio ends the stream once the product redirected the call."""
        while not (self.store.transfers or self.store.briefed):
            await asyncio.sleep(0.05)
        self.session.transport.feed("stop", "{}")

    async def ended(self, timeout: float = 30) -> None:
        await asyncio.wait_for(self.session.task, timeout)

    def caller_lines(self) -> list[str]:
        return [text for speaker, text in self.store.lines if speaker == "caller"]


async def test_a_caller_asking_for_a_person_hears_hold_on_and_is_handed_over(tmp_path):
    store = MemoryCallStore(context(can_transfer=True), transfer_answer=STARTED)
    call = Call(store, scripted("can i talk to a person please"), tmp_path)

    await call.speak()
    await call.redirected()
    await call.ended()

    reason, summary = store.transfers[0]
    assert reason == "asked for a person" and "talk to a person" in summary
    assert ("bot", HOLD) in store.lines  # said before the call was handed over
    assert store.lines.index(("bot", HOLD)) < len(store.lines)
    # The call is the person's now: not hung up, no outcome from the bot.
    assert not call.hung_up
    assert store.finished["disposition"] == "" and store.outcomes == []
    assert "talk to a person" in " ".join(call.caller_lines())  # the transcript is kept
    assert call.session.end_reason == "handed to a person"


async def test_a_call_taken_over_from_the_dashboard_is_not_hung_up_when_twilio_ends_the_stream(tmp_path):
    """A take-over redirects the call without the bot asking: Twilio's stop is all it hears."""
    store = MemoryCallStore(context(can_transfer=True), handed_over_by_staff=True)
    call = Call(store, scripted("hello"), tmp_path)

    await call.bot_said("Hello Dana.")
    call.session.transport.feed("stop", "{}")
    await call.ended()

    assert not call.hung_up  # the staff member's <Dial> runs on the call now
    assert store.lines[0][1].startswith("Hello Dana.")  # the transcript is kept
    # Handed to a person, not hung up: no outcome from the bot, and its summary says so.
    assert store.finished["disposition"] == ""
    assert "Outcome: handed to a person." in store.finished["summary"]
    assert store.finished["metrics"]["end_reason"] == "handed to a person"


async def test_a_caller_who_hangs_up_is_still_hung_up_when_nobody_took_the_call_over(tmp_path):
    store = MemoryCallStore(context(can_transfer=True))
    call = Call(store, scripted("hello"), tmp_path)

    await call.bot_said("Hello Dana.")
    call.session.transport.feed("stop", "{}")
    await call.ended()

    assert store.finished["disposition"] == "hung_up" and "Outcome: Hung up." in store.finished["summary"]
    assert store.finished["metrics"]["end_reason"] == "caller hung up"


class RedirectingStore(MemoryCallStore):
    """The product's redirect: Twilio ends the stream before the REST call returns."""

    session: BotSession | None = None
    loop: asyncio.AbstractEventLoop | None = None

    def transfer_call(self, call_id, reason, summary):
        self.loop.call_soon_threadsafe(self.session.transport.feed, "stop", "{}")
        time.sleep(0.5)  # the rest of the request: the stream is gone meanwhile
        return super().transfer_call(call_id, reason, summary)


async def test_a_stream_that_ends_before_the_redirect_returns_is_a_hand_off_not_a_hang_up(tmp_path):
    store = RedirectingStore(context(can_transfer=True), transfer_answer=STARTED)
    store.loop = asyncio.get_running_loop()
    call = Call(store, scripted("can i talk to a person please"), tmp_path)
    store.session = call.session

    await call.speak()
    await call.ended()

    assert store.transfers and not call.hung_up
    assert store.finished["disposition"] == "" and call.session.end_reason == "handed to a person"
    assert not call.session.caller_hung_up


async def test_an_interested_caller_is_offered_a_specialist_and_a_yes_hands_them_over(tmp_path):
    store = MemoryCallStore(context(can_transfer=True), transfer_answer=STARTED)
    call = Call(store, scripted("yes i am interested", "yes please"), tmp_path)

    await call.speak()
    await call.bot_said("Shall I connect you with a specialist")
    await call.speak()
    await call.redirected()
    await call.ended()

    assert store.transfers[0][0] == "interested in the offer"
    assert store.dispositions[0][0] == "interested"  # the bot's verdict stands, transferred or not
    assert ("bot", HOLD) in store.lines and not call.hung_up


async def test_without_transfer_targets_the_bot_goes_on_as_it_always_has(tmp_path):
    store = MemoryCallStore(context())  # the store answers no_transfer_targets
    call = Call(store, scripted("yes i am interested", "yes please"), tmp_path)

    await call.speak()
    await call.bot_said("Shall I have a specialist call you")
    await call.speak()
    await call.ended()

    assert store.refusal_checks and not store.transfers  # asked: the store knows the campaign best
    assert not any(HOLD in text for _speaker, text in store.lines)
    assert any("A specialist will be in touch soon" in text for s, text in store.lines if s == "bot")
    assert store.finished["disposition"] == "interested" and call.hung_up


async def test_outside_agent_hours_the_bot_offers_a_callback_when_they_are_back_and_books_it(tmp_path):
    now = datetime.now(NY)
    opens = (now + timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)
    store = MemoryCallStore(context(can_transfer=True), transfer_answer=TransferAnswer(
        started=False, refusal=Refusal.OUTSIDE_AGENT_HOURS, agents_open_at=opens))
    call = Call(store, scripted("can i speak to a real person", "yes please"), tmp_path)

    await call.speak()
    await call.bot_said("they are back tomorrow at 9 AM. Shall I have one of them call you back then?")
    await call.speak()
    await call.ended()

    assert store.outcomes == [(3, "callback_requested", opens)]
    assert any("I will call you back" in text for s, text in store.lines if s == "bot")


async def test_outside_agent_hours_the_caller_never_hears_please_hold_and_is_offered_the_callback(tmp_path):
    opens = (datetime.now(NY) + timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)
    store = MemoryCallStore(context(can_transfer=True), transfer_answer=TransferAnswer(
        started=False, refusal=Refusal.OUTSIDE_AGENT_HOURS, agents_open_at=opens))
    call = Call(store, scripted("can i speak to a real person", "no thanks"), tmp_path)

    await call.speak()
    await call.bot_said("Shall I have one of them call you back then?")
    await call.speak()
    await call.ended()

    bot = [text for speaker, text in store.lines if speaker == "bot"]
    assert not any(HOLD in text for text in bot)
    asked = store.lines.index(("caller", "can i speak to a real person"))
    assert "they are back tomorrow at 9 AM" in store.lines[asked + 1][1]  # the offer, at once
    assert store.transfers == []  # nothing was redirected


class HeardBeforeTheRedirect(MemoryCallStore):
    """Remembers what the caller had heard when the product was asked to redirect the call."""

    heard: list[tuple[str, str]] | None = None

    def transfer_call(self, call_id, reason, summary):
        self.heard = list(self.lines)
        return super().transfer_call(call_id, reason, summary)


async def test_a_transfer_that_starts_is_still_preceded_by_please_hold(tmp_path):
    store = HeardBeforeTheRedirect(context(can_transfer=True), transfer_answer=STARTED)
    call = Call(store, scripted("can i talk to a person please"), tmp_path)

    await call.speak()
    await call.redirected()
    await call.ended()

    assert store.refusal_checks == 1 and len(store.transfers) == 1
    assert store.heard[-1] == ("bot", HOLD)  # the last words before the stream ends
    assert call.session.end_reason == "handed to a person" and not call.hung_up


async def test_a_caller_back_from_an_agent_who_did_not_answer_hears_an_apology_and_books(tmp_path):
    store = MemoryCallStore(context(parameters={"resume": "agent_unavailable"}))
    call = Call(store, scripted("yes please call me tomorrow at ten"), tmp_path)

    await call.bot_said("none of our specialists could take your call just now. "
                        "Shall I have one of them call you back?")
    await call.speak()
    await call.ended()

    assert not any("Hello Dana" in text for _s, text in store.lines)  # greeted already
    (lead, disposition, at), = store.outcomes
    assert (lead, disposition) == (3, "callback_requested")
    assert at.astimezone(NY).hour == 10 and at > datetime.now(NY)


async def test_a_campaign_that_ends_the_call_with_a_callback_books_it_at_once(tmp_path):
    store = MemoryCallStore(context(parameters={"resume": "agent_unavailable"},
                                    transfer_unanswered="end_call_with_callback"))
    call = Call(store, scripted(), tmp_path)

    await call.ended()

    first = store.lines[0][1]
    assert "One of them will call you back." in first and first.endswith("Goodbye.")
    assert store.outcomes[0][1] == "callback_requested" and store.outcomes[0][2] is not None


async def test_the_agent_on_a_warm_transfer_is_briefed_and_then_joined(tmp_path):
    store = MemoryCallStore(context(
        lead_id=None, parameters={"role": "agent_briefing", "transfer_of": "6",
                                  "reason": "asked for a person",
                                  "summary": "Wants to upgrade to the family plan."}))
    # The agent answers with words that would be an opt-out from a lead: not from an agent.
    call = Call(store, scripted("hello who is this do not call me again"), tmp_path)

    await call.speak()
    await call.redirected()
    await call.ended()

    briefing = store.lines[0][1]
    assert "Dana Reyes is waiting to speak with you" in briefing
    assert "Reason: asked for a person. Wants to upgrade to the family plan." in briefing
    assert store.briefed == [7]
    assert store.dispositions == [] and store.do_not_call == [] and store.outcomes == []
    assert [s for s, _t in store.lines].count("bot") == 1  # no questions, no answers
    assert store.finished["disposition"] == "" and not call.hung_up


async def test_key_1_hands_the_caller_over_and_is_in_the_transcript(tmp_path):
    store = MemoryCallStore(context(can_transfer=True), transfer_answer=STARTED)
    call = Call(store, scripted(), tmp_path)

    await call.press("1")
    await call.redirected()
    await call.ended()

    assert ("caller", "[pressed 1]") in store.lines
    assert store.transfers[0][0] == "pressed 1 to talk to a person"
    assert ("bot", HOLD) in store.lines and not call.hung_up


async def test_key_9_puts_the_number_on_the_do_not_call_list_and_a_garbage_key_is_ignored(tmp_path):
    store = MemoryCallStore(context())
    call = Call(store, scripted(), tmp_path)

    await call.press("x")
    await call.press("9")
    await call.ended()

    assert call.caller_lines() == ["[pressed 9]"]  # the garbage key left no line and no action
    assert store.do_not_call == ["+12025550101"]
    assert store.finished["disposition"] == "do_not_call"
    assert any("remove your number" in text for s, text in store.lines if s == "bot")


async def test_on_the_cloud_stack_the_llm_transfers_a_caller_asking_for_a_person(tmp_path, voices):
    store = MemoryCallStore(context(can_transfer=True), transfer_answer=STARTED)
    call = Call(store, cloud(voices, "could i speak to an agent please"), tmp_path)

    await call.speak()
    await call.redirected()
    await call.ended()

    reason, summary = store.transfers[0]
    assert reason == "asked for a person" and "speak to an agent" in summary
    assert ("bot", HOLD) in store.lines and not call.hung_up
    asked = voices.log("openai", "completion")[-1]
    system = asked["messages"][0]["content"]
    assert "transfer_call" in system and '"[pressed 1]"' in system


async def test_on_the_cloud_stack_the_llm_hears_key_9_through_the_prompts_keypad_map(tmp_path, voices):
    store = MemoryCallStore(context())
    call = Call(store, cloud(voices), tmp_path)

    await call.press("9")
    await call.ended()

    assert call.caller_lines() == ["[pressed 9]"]
    assert store.do_not_call == ["+12025550101"]
    heard = [m["content"] for m in voices.log("openai", "completion")[-2]["messages"] if m["role"] == "user"]
    assert heard == ["[pressed 9]"]


async def test_on_the_cloud_stack_a_caller_outside_agent_hours_is_offered_the_callback(tmp_path, voices):
    opens = (datetime.now(NY) + timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)
    store = MemoryCallStore(context(can_transfer=True), transfer_answer=TransferAnswer(
        started=False, refusal=Refusal.OUTSIDE_AGENT_HOURS, agents_open_at=opens))
    call = Call(store, cloud(voices, "i want a human", "yes please"), tmp_path)

    await call.speak()
    await call.bot_said("they are back tomorrow at 9 AM")
    await call.speak()
    await call.ended()

    assert store.outcomes == [(3, "callback_requested", opens)]



async def test_on_the_cloud_stack_a_caller_back_from_an_unanswered_agent_books_the_callback(tmp_path, voices):
    store = MemoryCallStore(context(parameters={"resume": "agent_unavailable"}))
    call = Call(store, cloud(voices, "yes please, tomorrow at ten"), tmp_path)

    await call.bot_said("Shall I have one of them call you back?")
    await call.speak()
    await call.ended()

    (lead, disposition, at), = store.outcomes
    assert (lead, disposition) == (3, "callback_requested") and at.astimezone(NY).hour == 10
    system = voices.log("openai", "completion")[-1]["messages"][0]["content"]
    assert "did not answer" in system
