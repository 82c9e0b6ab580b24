"""One bot session per media stream: builds the pipeline for the call's voice stack around
a transport, runs it as its own task, and writes the transcript, outcome, summary,
recording and metrics.

The transport is any Pipecat transport carrying Twilio's Media Stream: in the product the
Channels consumer's (`botruntime.transport`), which the consumer feeds and never awaits; in
bench/concurrent_calls.py Pipecat's own FastAPI one, to compare the two on this pipeline.
"""

from __future__ import annotations

import asyncio
import logging
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from asgiref.sync import ThreadSensitiveContext
from channels.db import database_sync_to_async
from django.conf import settings
from pipecat.frames.frames import (
    BotStartedSpeakingFrame,
    BotStoppedSpeakingFrame,
    EndFrame,
    ErrorFrame,
    Frame,
    InputAudioRawFrame,
    InterruptionFrame,
    MetricsFrame,
    OutputAudioRawFrame,
    TTSSpeakFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.metrics.metrics import TTFBMetricsData
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import (
    LLMContextAggregatorPair,
    LLMUserAggregatorParams,
)
from pipecat.processors.audio.audio_buffer_processor import AudioBufferProcessor
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.transports.base_transport import BaseTransport, TransportParams
from pipecat.turns.types import ProcessFrameResult
from pipecat.turns.user_start.vad_user_turn_start_strategy import VADUserTurnStartStrategy
from pipecat.turns.user_turn_strategies import UserTurnStrategies
from pipecat.utils.errors import ErrorCategory
from pipecat.workers.runner import WorkerRunner

from botruntime import cloud, handoff, observers, prompts, turns
from botruntime.handoff import HandOffs, Keypad
from botruntime.outcomes import Disposition, VoiceStack
from botruntime.script import ScriptedDialogue, merged_script, vocabulary
from botruntime.store import CallContext, CallStore, UnknownCall
from botruntime.summary import local_summary
from botruntime.tools import CallTools, ToolUsed, register, tools_schema
from botruntime.transport import ChannelsTransport, ChannelsTransportParams, Close, KeepCallSerializer, Send
from botruntime.vad import SharedSileroVADAnalyzer

logger = logging.getLogger(__name__)

SAMPLE_RATE = 8000  # Twilio's μ-law rate, in and out: no resampling anywhere
DEFAULT_IDLE_SECS = 10
DEFAULT_MAX_CALL_SECS = 300
END_AFTER_SPEECH_TIMEOUT = 30.0


@dataclass
class StreamStart:
    """What Twilio's `start` message told us."""

    stream_sid: str
    call_sid: str
    account_sid: str
    custom_parameters: dict = field(default_factory=dict)

    @classmethod
    def from_twilio(cls, start) -> StreamStart | None:
        """The `start` message's `start` object, or None if it does not name the stream."""
        if not isinstance(start, dict) or not start.get("callSid") or not start.get("streamSid"):
            return None
        parameters = start.get("customParameters") or {}
        if not isinstance(parameters, dict):
            parameters = {}
        return cls(
            stream_sid=str(start["streamSid"]),
            call_sid=str(start["callSid"]),
            account_sid=str(start.get("accountSid", "")),
            custom_parameters={str(k): str(v) for k, v in parameters.items()},
        )


Listen = Callable[[str, bytes, int], None]
P = TypeVar("P", bound=TransportParams)


def transport_params(params_class: type[P], start: StreamStart, *, hang_up: bool = True, **extra) -> P:
    """Twilio's audio format and Pipecat's Twilio serializer, for any transport's params.
    `hang_up=False`: the session's end closes the socket only, with no hang-up through
    Twilio's REST API (a browser speaking the Media Streams protocol: no call to end)."""
    serializer = KeepCallSerializer(
        stream_sid=start.stream_sid,
        call_sid=start.call_sid,
        account_sid=settings.TWILIO_ACCOUNT_SID or start.account_sid,
        auth_token=settings.TWILIO_AUTH_TOKEN,
        base_url=settings.TWILIO_API_BASE_URL,
        params=KeepCallSerializer.InputParams(auto_hang_up=hang_up),
    )
    return params_class(
        audio_in_enabled=True,
        audio_out_enabled=True,
        audio_in_sample_rate=SAMPLE_RATE,
        audio_out_sample_rate=SAMPLE_RATE,
        audio_out_end_silence_secs=0,
        audio_out_10ms_chunks=2,  # 20 ms messages, as Twilio sends them
        serializer=serializer,
        **extra,
    )


class _CallRecorder(AudioBufferProcessor):
    """Pipecat's recorder, which also keeps the call's speech timing for the session.

    It sits after the output transport, so every downstream frame passes it: the bot
    starting and stopping speech, the VAD's verdicts, the services' metrics. Pipecat's
    observers would see the same frames, but each observer gets every frame through a
    queue and task of its own, per call: with two of them that was a fifth of daphne's
    event loop at 16 calls. Here it is a type check on a frame that passes anyway.
    Caller stops -> first bot audio is measured as `UserBotLatencyObserver` does it.
    """

    def __init__(self, session: BotSession, **kwargs):
        super().__init__(**kwargs)
        self.session = session
        self._caller_stopped_at: float | None = None

    async def process_frame(self, frame: Frame, direction: FrameDirection):
        if direction == FrameDirection.DOWNSTREAM:
            self._note(frame)
            listen = self.session.listen
            if listen is not None and isinstance(frame, OutputAudioRawFrame):
                listen("bot", frame.audio, frame.sample_rate)
        await super().process_frame(frame, direction)

    async def push_frame(self, frame: Frame, direction: FrameDirection = FrameDirection.DOWNSTREAM):
        # The bot's audio ends here: the assistant aggregator after us takes text and speech
        # events only, and each 20 ms frame would cost it a queue and a task switch.
        if direction == FrameDirection.DOWNSTREAM and isinstance(frame, OutputAudioRawFrame):
            return
        await super().push_frame(frame, direction)

    async def hear_caller(self, frame: InputAudioRawFrame) -> None:
        """The caller's audio, handed over by `_CallerAudioEnds` instead of sent down the
        pipeline: recorded (and heard by whoever listens in) as if it had come this way."""
        listen = self.session.listen
        if listen is not None:
            listen("caller", frame.audio, frame.sample_rate)
        if self._recording:
            await self._process_recording(frame)

    def _note(self, frame: Frame) -> None:
        session = self.session
        if isinstance(frame, MetricsFrame):
            for item in frame.data:
                if isinstance(item, TTFBMetricsData):
                    session.ttfb.setdefault(_service_kind(item.processor), []).append(
                        round(item.value * 1000))
        elif isinstance(frame, VADUserStartedSpeakingFrame):
            self._caller_stopped_at = None
        elif isinstance(frame, VADUserStoppedSpeakingFrame):
            # The VAD decides `stop_secs` after the caller's last sound.
            self._caller_stopped_at = frame.timestamp - frame.stop_secs
        elif isinstance(frame, BotStartedSpeakingFrame):
            session.bot_speaking = True
            session.bot_utterances += 1
            session.bot_quiet.clear()
            if self._caller_stopped_at is not None:
                waited = time.time() - self._caller_stopped_at
                session.latencies_ms.append(round(waited * 1000))
                observers.tell(observers.turn_latency, waited)
                self._caller_stopped_at = None
        elif isinstance(frame, BotStoppedSpeakingFrame):
            session.bot_speaking = False
            session.bot_quiet.set()


class _CallerAudioEnds(FrameProcessor):
    """Where the caller's audio stops travelling down the pipeline: after the user
    aggregator (VAD, turn detection, idle timer), the last processor that listens to it,
    only the recorder wants it. Sent on, each 20 ms frame would cross four more processors
    (the agent or LLM, TTS, the output transport, the recorder) and the assistant
    aggregator, each a queue and a task switch for nothing: 250 hops a second a call.
    Direct mode: no queue or task of its own either."""

    def __init__(self, recorder: _CallRecorder):
        super().__init__(enable_direct_mode=True)
        self._recorder = recorder

    async def process_frame(self, frame: Frame, direction: FrameDirection):
        await super().process_frame(frame, direction)
        if isinstance(frame, InputAudioRawFrame) and direction == FrameDirection.DOWNSTREAM:
            await self._recorder.hear_caller(frame)
        else:
            await self.push_frame(frame, direction)


def _service_kind(name: str) -> str:
    # "PocketsphinxSTTService#3" -> "stt"; keeps metrics comparable across calls.
    lowered = name.lower()
    for kind in ("stt", "tts", "llm"):
        if kind in lowered:
            return kind
    return "agent" if "agent" in lowered else lowered.split("#")[0]


class _NoBargeInOnLastWords(VADUserTurnStartStrategy):
    """A caller who speaks over the bot interrupts it, except over its last words: once the
    session is ending (a goodbye, the apology when a service failed) the call ends whatever
    they say, and a cut goodbye would leave them not knowing why the line went dead. The
    same for the words before a hand-off ("please hold…", the agent's briefing)."""

    def __init__(self, session: BotSession):
        super().__init__()
        self._session = session

    async def process_frame(self, frame: Frame) -> ProcessFrameResult:
        if isinstance(frame, VADUserStartedSpeakingFrame) and self._session.keeps_its_words():
            await self.trigger_user_turn_started(enable_interruptions=False)
            return ProcessFrameResult.STOP
        return await super().process_frame(frame)


class BotSession:
    def __init__(self, start: StreamStart, transport: BaseTransport, *, store: CallStore,
                 close: Close | None = None, services_factory=None):
        """`store` is where the call's records go (see botruntime.store). `close` ends the
        stream when the session stops without the pipeline having closed it (a refused
        call, a failure); a transport that closes its socket when its handler returns
        needs none."""
        self.start_info = start
        self.started = time.monotonic()
        self.transport = transport
        self.store = store
        self._close = close
        # The bench swaps in fixed-latency stand-ins (BOT_SERVICES=standin).
        if services_factory is None and settings.BOT_SERVICES == "standin":
            from botruntime.standins import standin_services

            services_factory = standin_services
        self.services_factory = services_factory
        self.call: CallContext | None = None
        self.tools: CallTools | None = None
        self.agent = None
        self.worker: PipelineWorker | None = None
        self.task: asyncio.Task | None = None
        self.bot_speaking = False
        self.bot_utterances = 0
        self.bot_quiet = asyncio.Event()
        self.bot_quiet.set()
        self.ending = False
        self.end_reason = ""
        self.failed = False  # a service gave up or the pipeline raised: the product's breaker counts it
        self.voicemail_started = False
        self.caller_hung_up = False
        self.latencies_ms: list[int] = []
        self.ttfb: dict[str, list[int]] = {}
        self.service_errors: dict[str, list[str]] = {}
        self.interruptions: list[dict] = []
        self._context: LLMContext | None = None
        self._said: dict[str, int] = {}  # our own lines (greeting, goodbyes) -> their rows
        self._heard_cut: tuple[str, str] | None = None
        self._services: dict[str, object] = {}
        self._trouble_goodbye = ""
        self.recording: tuple[bytes, int, int] | None = None
        # Set by the product while someone listens in: called with ("caller" or "bot",
        # 16-bit PCM, sample rate) for every audio frame. None, the usual case, costs nothing.
        self.listen: Listen | None = None
        # Set by a product that shows the bot's tool calls as they happen (botruntime.tools).
        self.on_tool: ToolUsed | None = None
        self._timers: list[asyncio.Task] = []
        # Set once the pipeline runs, or once the session is over without it ever running (the
        # stream refused, the build failed): what waits for the pipeline must end either way.
        self._ready = asyncio.Event()
        self.pipeline_running = False
        self.handoffs: HandOffs | None = None

    @classmethod
    def over_channels(cls, start: StreamStart, send: Send, close: Close, *, store: CallStore,
                      services_factory=None, hang_up: bool = True) -> BotSession:
        """The session for a Channels consumer's socket, started: the consumer then passes
        Twilio's messages to `session.transport.feed` and, once the socket is gone, calls
        `session.transport.disconnected()`; `send` and `close` are the socket's own.
        `hang_up` as for `transport_params`."""
        params = transport_params(ChannelsTransportParams, start, hang_up=hang_up)
        transport = ChannelsTransport(send, close, params)
        session = cls(start, transport, store=store, close=transport.client.close,
                      services_factory=services_factory)
        session.begin()
        return session

    # -- called by the consumer (never blocks) -------------------------------------------

    def begin(self) -> asyncio.Task:
        self.task = self.spawn(self.run(), name=f"bot-{self.start_info.call_sid}")
        return self.task

    def spawn(self, coroutine, name: str | None = None) -> asyncio.Task:
        """Run a group event's work beside the consumer, which must not wait for it."""
        task = asyncio.create_task(coroutine, name=name)
        _running.add(task)
        task.add_done_callback(_running.discard)
        return task

    async def answered_by(self, answered_by: str) -> None:
        """Async AMD result: a machine gets the voicemail message, then we hang up."""
        if not answered_by.startswith("machine") and answered_by != "fax":
            return
        await self._ready.wait()
        if not self.pipeline_running:
            return  # the session never started, or is over: no one to leave a message to
        # Twilio retries a callback that timed out, and each one reaches us: check and claim
        # with no await in between, or two results would both leave the message.
        if self.ending or self.voicemail_started:
            return
        self.voicemail_started = True
        if self.agent is not None:
            self.agent.silenced = True
        self.tools.outcome.disposition = Disposition.VOICEMAIL
        self.tools.outcome.notes = f"Answering machine ({answered_by}); voicemail left."
        await self.worker.queue_frame(InterruptionFrame())
        message = prompts.voicemail(self.call)
        await self._say(message)
        await self.end_after_speech("voicemail left")

    def keeps_its_words(self) -> bool:
        """What the bot is saying now is said to the end, whatever the caller says."""
        return self.ending or (self.handoffs is not None and self.handoffs.speaking)

    # -- the run ---------------------------------------------------------------------------

    async def run(self) -> None:
        # The session's database work (transcript lines, the outcome the agent records before
        # it answers, the WAV at the end) runs in a thread of its own: Channels gives a
        # consumer none, so every call in the process queued behind one thread, and a
        # recording being encoded held up other callers' answers.
        async with ThreadSensitiveContext():
            try:
                await self._link_and_run()
            finally:
                self.pipeline_running = False
                self._ready.set()

    async def _link_and_run(self) -> None:
        start = self.start_info
        try:
            self.call = await database_sync_to_async(self.store.link_call)(
                start.call_sid, start.stream_sid, start.custom_parameters)
        except UnknownCall as exc:
            logger.warning("refusing stream %s: %s", start.stream_sid, exc)
            await self._close_stream()
            return
        except Exception:
            logger.exception("could not link stream %s to a call", start.stream_sid)
            await self._close_stream()
            return
        try:
            runner = await self._build()
            self.pipeline_running = True
            self._ready.set()
            await runner.run()
        except asyncio.CancelledError:
            logger.info("bot session for call %s cancelled", self.call.call_id)
            raise
        except Exception:
            self.failed = True
            logger.exception("bot session for call %s failed", self.call.call_id)
        finally:
            self.pipeline_running = False  # what ends with the pipeline is over
            for timer in self._timers:
                timer.cancel()
            await self._close_stream()
            await asyncio.shield(self._finish())

    async def _close_stream(self) -> None:
        if self._close is not None:
            await self._close()

    async def _build(self) -> WorkerRunner:
        call = self.call
        script = merged_script(call.script)
        template_context = prompts.template_context(call)
        self.handoffs = handoffs = HandOffs(self, script, template_context)
        self.tools = CallTools(call, self.end_after_speech, store=self.store, on_used=self._tool_used,
                               hand_off=handoffs.hand_off)
        briefing, resumed = prompts.is_briefing(call), prompts.is_resumed(call)
        book_at_once = resumed and call.transfer_unanswered == "end_call_with_callback"
        idle_secs = float(script.get("idle_timeout_secs", DEFAULT_IDLE_SECS))
        max_secs = float(script.get("max_call_secs", DEFAULT_MAX_CALL_SECS))

        if briefing:  # to the agent: who is waiting, and why
            greeting = handoffs.text("briefing")
        elif resumed:  # the caller is back: no agent answered
            greeting = handoffs.text("agent_unavailable_reply", callback_booked=book_at_once)
        else:
            greeting = prompts.greeting(call)
        system_prompt = prompts.system_prompt(call, script.get("keypad"))
        # BOT_SERVICES=lite|natural (bench/concurrent_calls.py) puts every call on that stack.
        stack = settings.BOT_SERVICES or call.voice_stack
        if self.services_factory is not None:
            stt, brain, tts, opening = self.services_factory(self, script, template_context)
            messages = [{"role": "system", "content": system_prompt}]
        elif stack == VoiceStack.CLOUD:
            stt, brain, tts = cloud.build_services(SAMPLE_RATE, keyterms=vocabulary(script),
                                                   on_interrupted=self._cut_interrupted)
            cloud.on_failover(tts, self._service_failed)
            register(brain, self.tools)
            messages = [{"role": "system", "content": system_prompt}]
            opening = []
        else:
            from botruntime.agent import ScriptedAgent

            if stack == VoiceStack.NATURAL:
                from botruntime import natural

                stt, tts = await natural.services(script)
            else:  # "lite", or "local" (its name before the natural stack)
                from botruntime.local import EspeakTTSService, PocketsphinxSTTService

                stt, tts = PocketsphinxSTTService(phrases=vocabulary(script)), EspeakTTSService()
            self.agent = brain = ScriptedAgent(ScriptedDialogue(script), self.tools, template_context)
            messages = []
            opening = self.agent.opening()

        if briefing or resumed:
            opening = []  # no questions to an agent, none to a caller who was told it all
        if briefing:
            # The agent's words are no answer, no outcome and no do-not-call request: nothing
            # listens to them (an LLM would answer, a scripted agent would judge them).
            from botruntime.agent import ScriptedAgent

            self.agent = brain = ScriptedAgent(ScriptedDialogue(script), self.tools, template_context)
            brain.silenced = True
        elif book_at_once:
            opening = [prompts.render(script["goodbye"], template_context)]
        elif resumed and self.agent is not None:
            self.agent.dialogue.offer_callback(greeting)
        self._services = {"stt": stt, "llm": brain, "tts": tts}
        self._trouble_goodbye = prompts.render(script["trouble_goodbye"], template_context)
        first_words = " ".join([greeting, *opening])
        messages.append({"role": "assistant", "content": first_words})
        self._context = context = LLMContext(messages, tools=tools_schema(call))
        aggregators = LLMContextAggregatorPair(
            context,
            user_params=LLMUserAggregatorParams(
                vad_analyzer=SharedSileroVADAnalyzer(
                    sample_rate=SAMPLE_RATE, params=turns.vad_params(settings.BOT_TURN_DETECTION)),
                user_turn_strategies=UserTurnStrategies(
                    start=[_NoBargeInOnLastWords(self)],
                    stop=turns.stop_strategies(settings.BOT_TURN_DETECTION,
                                               settings.BOT_SILENCE_TIMEOUT_SECS),
                ),
                user_idle_timeout=idle_secs,
            ),
        )
        recorder = _CallRecorder(self, sample_rate=SAMPLE_RATE, num_channels=2,
                                 auto_start_recording=True)
        pipeline = Pipeline([
            self.transport.input(), Keypad(self), stt, aggregators.user(), _CallerAudioEnds(recorder),
            brain, tts,
            self.transport.output(), recorder, aggregators.assistant(),
        ])
        self.worker = PipelineWorker(
            pipeline,
            params=PipelineParams(audio_in_sample_rate=SAMPLE_RATE,
                                  audio_out_sample_rate=SAMPLE_RATE, enable_metrics=True),
            enable_rtvi=False,
            idle_timeout_secs=None,
            enable_turn_tracking=False,
        )

        @self.worker.event_handler("on_pipeline_error")
        async def on_error(_worker, frame: ErrorFrame):
            await self._service_failed(frame)

        answer_timeout = float(script["answer_timeout_secs"])
        # Only a remote service can stall without an error. An offline stack's answer takes
        # what the host's CPU takes (Whisper on a loaded host: many seconds), and giving up
        # on it would end calls that were about to be answered.
        watch_answers = stack == VoiceStack.CLOUD and self.services_factory is None

        @aggregators.user().event_handler("on_user_turn_stopped")
        async def on_user_turn(_aggregator, _strategy, message):
            if message.content:
                await self._transcript("caller", message.content)
                if watch_answers:
                    self._timers.append(asyncio.create_task(self._expect_answer(answer_timeout)))

        @aggregators.assistant().event_handler("on_assistant_turn_stopped")
        async def on_bot_turn(_aggregator, message):
            cut, self._heard_cut = self._heard_cut, None
            if message.interrupted and cut:
                heard, unheard = cut
                self._retell(message.content, heard)
                await self._transcript("bot", heard, unheard=unheard)
            elif message.content:
                await self._transcript("bot", message.content)

        @aggregators.user().event_handler("on_user_turn_idle")
        async def on_idle(_aggregator):
            if not self.ending:
                await self._say(prompts.render(script["idle_goodbye"], template_context))
                await self.end_after_speech("caller idle")

        @recorder.event_handler("on_audio_data")
        async def on_audio(_recorder, audio, sample_rate, num_channels):
            if audio:
                self.recording = (bytes(audio), sample_rate, num_channels)

        @self.transport.event_handler("on_client_disconnected")
        async def on_disconnected(_transport, *_client):
            # A stream ending while the product redirects the call is the hand-off, not a hang-up.
            if not self.ending and not handoffs.asking:
                self.caller_hung_up = True
            await self.worker.cancel(reason="stream closed")

        async def max_length():
            await asyncio.sleep(max_secs)
            if not self.ending:
                await self._say(prompts.render(script["goodbye"], template_context))
                await self.end_after_speech("maximum call length")

        self._timers.append(asyncio.create_task(max_length()))
        await self._say(first_words)
        if briefing:
            self.add_timer(handoffs.brief_agent())
        elif book_at_once:
            await handoffs.book_unanswered_callback()
            await self.end_after_speech("no agent answered: callback booked")

        runner = WorkerRunner(handle_sigint=False)
        await runner.add_workers(self.worker)
        return runner

    async def _tool_used(self, name: str, arguments: dict, result: dict) -> None:
        if self.on_tool is not None:
            await self.on_tool(name, arguments, result)

    # -- failures: never silence ---------------------------------------------------------

    def _service_name(self, kind: str) -> str:
        service = self._services.get(kind)
        if service is None:
            return kind
        # A failover switcher is named after its first (the stack's own) service.
        return cloud.service_of(getattr(service, "services", [service])[0])[0]

    async def _service_failed(self, frame: ErrorFrame) -> None:
        """A service that can no longer work ends the call politely; a rejected key also
        pauses the campaign, since every call of it would fail the same way."""
        processor = frame.processor
        kind = _service_kind(processor.name) if processor else "pipeline"
        errors = self.service_errors.setdefault(kind, [])
        if len(errors) < 5:
            errors.append(str(frame.error)[:300])
        if processor is None or processor.is_usable or self.ending:
            return  # a passing error: the service reconnects or retries by itself
        name, key = cloud.service_of(processor)
        if frame.category in (ErrorCategory.AUTHENTICATION, ErrorCategory.AUTHORIZATION):
            reason = f"{name} rejected the API key"
            if self.call.campaign_id:
                await database_sync_to_async(self.store.pause_campaign)(
                    self.call.campaign_id, f"{reason} ({key}): calls are paused until it is fixed.")
        else:
            reason = f"{name} stopped working: {frame.error}"
        await self._give_up(reason, can_speak=self._services["tts"].is_usable)

    async def _expect_answer(self, timeout: float) -> None:
        """The caller has spoken: if the bot has not started answering within `timeout`,
        say so and end the call, rather than leave the caller in silence."""
        utterances, answers = self.bot_utterances, len(self.ttfb.get("llm", []))
        await asyncio.sleep(timeout)
        if self.ending or self.bot_speaking or self.bot_utterances != utterances:
            return
        stalled = "tts" if len(self.ttfb.get("llm", [])) > answers else "llm"
        await self._give_up(f"no answer within {timeout:g} s: {self._service_name(stalled)} stalled",
                            can_speak=stalled != "tts")

    async def _give_up(self, reason: str, *, can_speak: bool) -> None:
        if self.ending:
            return
        self.failed = True
        logger.warning("call %s: %s; ending the call", self.call.call_id, reason)
        # Ending first, so that the caller talking on cannot cut the apology (see
        # _NoBargeInOnLastWords); else nothing could say it: just hang up.
        await self.end_after_speech(reason)
        if can_speak:
            await self.worker.queue_frame(InterruptionFrame())
            await self._say(self._trouble_goodbye)

    # -- barge-in: what the caller heard -------------------------------------------------

    async def _cut_interrupted(self, text: str, words: list[tuple[str, float]]) -> None:
        """The caller talked over `text` (one Cartesia context): cut it where playback had
        got to — the transport's marks say how far — by the words' start times, and keep
        what was heard apart from the rest, in the transcript and in the LLM's context."""
        if not isinstance(self.transport, ChannelsTransport):
            return  # no marks to go by: Pipecat's own word clock stands
        heard_secs = self.transport.output().heard_secs()
        spoken = text.split()
        count = min(len(spoken), sum(1 for _word, start in words if start < heard_secs))
        heard, unheard = " ".join(spoken[:count]), " ".join(spoken[count:])
        if not unheard:
            return  # it had all been heard: nothing to cut
        self.interruptions.append({"heard_secs": round(heard_secs, 2), "words_heard": count,
                                   "words": len(spoken)})
        line_id = self._said.pop(" ".join(spoken), None)
        if line_id is None:
            self._heard_cut = (heard, unheard)  # a reply: stored when its turn ends
            return
        self._retell(" ".join(spoken), heard)
        await database_sync_to_async(self.store.cut_transcript_line)(line_id, heard, unheard)

    def _retell(self, said: str, heard: str) -> None:
        """In the LLM's context, the assistant message that said `said` (or the last one)
        now says only what was heard; nothing heard, no message."""
        messages = self._context.messages
        assistant = [m for m in messages if isinstance(m, dict) and m.get("role") == "assistant"
                     and isinstance(m.get("content"), str)]
        target = next((m for m in reversed(assistant) if " ".join(m["content"].split()) == said),
                      assistant[-1] if assistant else None)
        if target is None:
            return
        if heard:
            target["content"] = heard
        else:
            messages.remove(target)
        self._context.set_messages(list(messages))

    # -- ending ---------------------------------------------------------------------------

    async def _say(self, text: str) -> None:
        """Speak and store one of our own lines (greeting, voicemail, goodbyes).

        Not appended to the context: the assistant aggregator would then also commit it as a
        turn and `on_bot_turn` would store it a second time (every greeting and voicemail
        was stored twice). The greeting is in the context already, as its first message;
        replies from the agent or LLM are stored by `on_bot_turn` alone.
        """
        await self.worker.queue_frame(TTSSpeakFrame(text, append_to_context=False))
        line_id = await self._transcript("bot", text)
        if line_id is not None:
            self._said[" ".join(text.split())] = line_id

    async def end_after_speech(self, reason: str) -> None:
        """Hang up once the bot has said what it is saying (the goodbye)."""
        if self.ending:
            return
        self.ending = True
        self.end_reason = reason
        self._timers.append(asyncio.create_task(self._end_when_quiet()))

    async def _end_when_quiet(self) -> None:
        await self._until_quiet(start_within=3.0)
        await self.worker.queue_frame(EndFrame())

    async def _until_quiet(self, start_within: float, utterances: int | None = None) -> None:
        """Until the bot has sent what it is saying (or was about to say: `utterances` is
        the count before it was queued)."""
        if utterances is None:
            utterances = self.bot_utterances
        # It may still be in synthesis: give it a moment to start.
        deadline = time.monotonic() + start_within
        while self.bot_utterances == utterances and not self.bot_speaking and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        try:
            await asyncio.wait_for(self.bot_quiet.wait(), END_AFTER_SPEECH_TIMEOUT)
        except TimeoutError:
            logger.warning("call %s: bot still speaking after %ss; ending", self.call.call_id,
                           END_AFTER_SPEECH_TIMEOUT)

    async def until_heard(self, utterances: int = 0) -> None:
        """Until the caller has heard what the bot says (Twilio's mark is back), for words
        that must arrive before the stream ends: a hand-off's."""
        await self._until_quiet(start_within=handoff.SPEECH_START_SECS, utterances=utterances)
        if isinstance(self.transport, ChannelsTransport):
            await self.transport.output().played()

    async def say_and_wait(self, text: str) -> None:
        utterances = self.bot_utterances
        await self._say(text)
        await self.until_heard(utterances)

    async def say(self, text: str) -> None:
        await self._say(text)

    async def store_line(self, speaker: str, text: str) -> None:
        await self._transcript(speaker, text)

    def add_timer(self, coroutine) -> None:
        """Work of the session's that ends with it."""
        self._timers.append(asyncio.create_task(coroutine))

    def serializer(self):
        """The transport's Twilio serializer (Pipecat's transports keep their params there)."""
        return getattr(getattr(self.transport, "_params", None), "serializer", None)

    # -- records ---------------------------------------------------------------------------

    def offset_ms(self) -> int:
        return int((time.monotonic() - self.started) * 1000)

    async def _transcript(self, speaker: str, text: str, unheard: str = "") -> int | None:
        text = " ".join(text.split())
        if (text or unheard) and self.call is not None:
            try:
                return await database_sync_to_async(self.store.add_transcript_line)(
                    self.call.call_id, speaker, text, self.offset_ms(), unheard)
            except Exception:
                # A lost line must not take the conversation down with it.
                logger.exception("could not store a transcript line of call %s", self.call.call_id)
        return None

    def metrics(self) -> dict:
        latencies = self.latencies_ms
        return {
            "caller_stop_to_bot_audio_ms": latencies,
            "caller_stop_to_bot_audio_median_ms": round(statistics.median(latencies)) if latencies else None,
            "ttfb_ms": self.ttfb,
            "service_errors": self.service_errors,
            "interruptions": self.interruptions,
            **(self.transport.stats() if isinstance(self.transport, ChannelsTransport) else {}),
            "end_reason": self.end_reason or ("caller hung up" if self.caller_hung_up else ""),
            "session_failed": self.failed,
            "duration_ms": self.offset_ms(),
        }

    async def _finish(self) -> None:
        if self.call is None or self.tools is None:
            return
        try:
            if self.handoffs is not None:
                await self.handoffs.settled()  # the stream may end before the store answers
            await self._store_outcome()
        except Exception:
            logger.exception("could not store the outcome of call %s", self.call.call_id)

    async def _store_outcome(self) -> None:
        outcome = self.tools.outcome
        # Handed over (or the agent's leg), the call is not over: its disposition is the
        # product's to set (transferred, once the agent answers), so none is written here.
        handed_over = self.handoffs is not None and self.handoffs.call_handed_over()
        if not handed_over and self.caller_hung_up:
            # A staff member taking the call over redirects it too, without asking the bot.
            began = datetime.now(UTC) - timedelta(milliseconds=self.offset_ms())
            if await database_sync_to_async(self.store.taken_over)(self.call.call_id, began):
                handed_over, self.caller_hung_up, self.end_reason = True, False, "handed to a person"
        if handed_over:
            disposition = outcome.disposition or (
                "agent briefed" if prompts.is_briefing(self.call) else "handed to a person")
        else:
            disposition = outcome.disposition or (
                Disposition.HUNG_UP if self.caller_hung_up else Disposition.COMPLETED)
        transcript = await database_sync_to_async(self.store.transcript_lines)(self.call.call_id)
        summary = local_summary(self.call, transcript, disposition, outcome)
        if self.call.voice_stack == VoiceStack.CLOUD and self.services_factory is None:
            try:
                from botruntime.cloud import summarize

                summary = await summarize(transcript, disposition) or summary
            except Exception:
                logger.warning("LLM summary failed for call %s; using the local one",
                               self.call.call_id, exc_info=True)
        # The lead first: the summary appearing on the call is the sign that all is stored.
        if self.call.lead_id and outcome.disposition and not prompts.is_briefing(self.call):
            await database_sync_to_async(self.store.record_outcome)(
                self.call.lead_id, outcome.disposition, outcome.notes, outcome.callback_at)
        await database_sync_to_async(self.store.finish_call)(
            self.call.call_id, disposition="" if handed_over else disposition,
            notes=outcome.notes, summary=summary,
            metrics=self.metrics(), recording=self.recording)


# Sessions outlive their consumer by a moment (the summary and recording are written after
# the socket closes): keep a reference so the tasks are not garbage-collected.
_running: set[asyncio.Task] = set()
