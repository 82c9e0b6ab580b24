"""One call from creation to its final status: pacing, ringing, answer, AMD, TwiML.

Each call runs in its own supervised task. Whatever goes wrong inside (bad TwiML, an
app that errors, a dead WebSocket, a bug here) ends up on that call's timeline and
ends that call only.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
import traceback
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import callee as people
from .audio import WavRecorder
from .calls import EVENT_FOR_STATUS, SIP_RESPONSE, Call, CallPacer, CallRequest, CallStatus
from .conference import Conferences
from .dial import Dialer
from .formats import API_VERSION, new_sid, rfc2822, utcnow
from .hearing import Hearing
from .interpreter import Hangup, Interpreter
from .line import Line
from .media import StreamEvent
from .metronome import Metronome
from .scenario import Callee
from .speech import Synthesizer
from .twiml import Document, TwimlError, Verb
from .webhooks import Webhooks

logger = logging.getLogger("twilio_emulator")

Spawn = Callable[[Coroutine[Any, Any, Any], Call], "asyncio.Task[Any]"]


@dataclass
class Timing:
    """Delays that imitate Twilio; tests shorten them."""

    http_timeout: float = 15.0  # Twilio's webhook timeout
    ws_handshake_timeout: float = 10.0
    amd_human_seconds: float = 2.0
    amd_machine_start_seconds: float = 2.5
    application_error_seconds: float = 3.0  # "We are sorry, an application error has occurred."
    hangup_wait_seconds: float = 3.0  # a REST hang-up answers once the call has ended


@dataclass
class CallContext:
    """What every call needs from the emulator."""

    auth_token: str
    webhooks: Webhooks
    voice: Synthesizer
    data_dir: Path
    timing: Timing
    pacer: CallPacer
    spawn: Spawn
    base_url: Callable[[], str]
    clock: Metronome
    # Places a call that another call's TwiML dials (<Dial><Number>), answered by the
    # scenario's callee for its number.
    place_leg: Callable[[CallRequest], CallRunner]
    hearing: Hearing  # recognises what callees hear, for their `expect` steps
    conferences: Conferences


class CallRunner:
    def __init__(self, call: Call, callee: Callee, context: CallContext) -> None:
        self.call = call
        self.callee = callee
        self.context = context
        self.timeline = call.timeline
        self.line: Line | None = None
        self.answered = asyncio.Event()
        dialer = Dialer(call, context.place_leg, context.webhooks, context.spawn,
                        context.data_dir, context.conferences)
        self.interpreter = Interpreter(call, context.webhooks, context.auth_token,
                                       context.data_dir, context.timing.ws_handshake_timeout,
                                       self._stream_events, dialer)
        self._end_request: tuple[CallStatus, str] | None = None
        self._end_requested = asyncio.Event()
        self._redirect: Document | None = None
        self._twiml_task: asyncio.Task[Any] | None = None
        self._children: set[asyncio.Task[Any]] = set()
        self._beeped = asyncio.Event()
        self._amd_task: asyncio.Task[None] | None = None
        self._recording: WavRecorder | None = None

    def start(self) -> None:
        self.context.spawn(self.run(), self.call)

    # -- requests from outside (REST, the callee) -------------------------------------

    def request_end(self, status: CallStatus, reason: str) -> None:
        if self._end_request is None and not self.call.status.is_final:
            self._end_request = (status, reason)
            self._end_requested.set()

    def hang_up(self, requested: str) -> None:
        """REST `Status=completed|canceled`, with Twilio's meaning for each."""
        answered = self.call.status is CallStatus.IN_PROGRESS
        if requested == "completed":
            self.request_end(CallStatus.COMPLETED if answered else CallStatus.CANCELED,
                             "hung up through the REST API")
        elif not answered:  # canceled only affects calls that are not connected yet
            self.request_end(CallStatus.CANCELED, "canceled through the REST API")
        else:
            self.timeline.add("cancel_ignored", note="canceled does not end an in-progress call")

    def redirect(self, document: Document) -> None:
        """New TwiML for a live call: abandon the current document (and its stream)."""
        self._redirect = document
        if self._twiml_task is not None and not self._twiml_task.done():
            self._twiml_task.cancel()

    # -- the lifecycle ----------------------------------------------------------------------

    async def run(self) -> None:
        lifecycle = asyncio.create_task(self._lifecycle())
        end_requested = asyncio.create_task(self._end_requested.wait())
        try:
            await asyncio.wait({lifecycle, end_requested}, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            self._end_request = self._end_request or (self._unanswered_or(CallStatus.COMPLETED),
                                                       "emulator stopped")
            raise
        finally:
            end_requested.cancel()
            lifecycle.cancel()
            (result,) = await asyncio.gather(lifecycle, return_exceptions=True)
            self._finish(*self._outcome(result))

    def _outcome(self, result: Any) -> tuple[CallStatus, str]:
        if isinstance(result, tuple):
            return result
        if self._end_request is not None:
            return self._end_request
        if isinstance(result, BaseException) and not isinstance(result, asyncio.CancelledError):
            self.timeline.error("emulator error", error=repr(result),
                                traceback="".join(traceback.format_exception(result)))
            logger.error("call %s crashed", self.call.sid, exc_info=result)
            return self._unanswered_or(CallStatus.COMPLETED, CallStatus.FAILED), "emulator error"
        return self._unanswered_or(CallStatus.COMPLETED), "ended"

    def _unanswered_or(self, answered: CallStatus,
                       unanswered: CallStatus = CallStatus.CANCELED) -> CallStatus:
        return answered if self.call.answered_at is not None else unanswered

    async def _lifecycle(self) -> tuple[CallStatus, str]:
        callee, request = self.callee, self.call.request
        self.timeline.add("callee", name=callee.name, behaviour=callee.behaviour)
        speech_ready = self._child(people.prepare(callee, self.context.voice))
        if request.direction == "outbound-api":
            await self.context.pacer.wait_turn()
        self._progress(CallStatus.INITIATED)
        if request.direction == "inbound":
            return await self._inbound(speech_ready)
        if callee.behaviour == "failed":
            return CallStatus.FAILED, "callee scenario: the number cannot be reached"
        self._progress(CallStatus.RINGING)
        if callee.behaviour in ("busy", "decline"):
            await asyncio.sleep(min(callee.ring, request.timeout))
            return CallStatus.BUSY, f"callee scenario: {callee.behaviour}"
        if callee.behaviour == "no-answer" or callee.ring >= request.timeout:
            await asyncio.sleep(request.timeout)
            return CallStatus.NO_ANSWER, f"nobody answered within Timeout={request.timeout:g} s"
        await asyncio.sleep(callee.ring)
        await speech_ready
        line = self._answer()
        if request.direction == "outbound-dial":
            # A <Dial>ed leg runs no TwiML: it stays up, bridged, until one side hangs up.
            await line.wait_closed()
            return CallStatus.COMPLETED, "bridge ended"
        if request.machine_detection and not request.async_amd:
            # Synchronous AMD: the TwiML is requested only once the answer is known.
            await self._amd_task
        first = Document(url=request.url, method=request.method, twiml=request.twiml)
        return await self._run_twiml(first, line)

    async def _inbound(self, speech_ready: asyncio.Task[None]) -> tuple[CallStatus, str]:
        """An incoming call: the TwiML is requested while ringing, then answered."""
        request = self.call.request
        self._progress(CallStatus.RINGING)
        first = Document(url=request.url, method=request.method, twiml=request.twiml)
        try:
            verbs = await self.interpreter.load(first)
        except TwimlError as exc:
            await speech_ready
            return await self._application_error(exc, self._answer())
        if verbs and verbs[0].name == "Reject":
            self.timeline.add("twiml_reject", **verbs[0].attributes)
            return CallStatus.BUSY, "rejected by <Reject>"
        await speech_ready
        return await self._run_twiml(first, self._answer(), verbs)

    def _answer(self) -> Line:
        request = self.call.request
        self._progress(CallStatus.IN_PROGRESS)
        if request.record:
            self.call.recording_sid = new_sid("RE")
            self._recording = WavRecorder(self._recording_path(), channels=2)
        line = self.line = Line(self.timeline, self._recording)
        self.answered.set()
        self._child(line.run(self.context.clock))
        if self.callee.behaviour == "machine":
            self._child(people.run_machine(self.callee, line, self.context.voice,
                                           self._callee_hung_up, self.timeline, self._on_beep))
        else:
            self._child(people.run_person(self.callee, line, self.context.voice,
                                          self._callee_hung_up, self.timeline,
                                          self.context.hearing))
        if request.machine_detection:
            self._amd_task = self._child(self._detect_machine())
        self._child(self._enforce_time_limit())
        return line

    async def _run_twiml(self, document: Document, line: Line,
                         verbs: list[Verb] | None = None) -> tuple[CallStatus, str]:
        next_document: Document | None = document
        while next_document is not None:
            task = self._twiml_task = asyncio.create_task(
                self._run_document(next_document, line, verbs))
            verbs = None
            try:
                await asyncio.wait({task})
            finally:
                task.cancel()
            if task.cancelled():
                next_document, self._redirect = self._redirect, None
                if next_document is not None:
                    self.timeline.add("redirected", url=next_document.url,
                                      inline=next_document.twiml is not None)
                continue
            error = task.exception()
            if isinstance(error, TwimlError):
                return await self._application_error(error, line)
            if error is not None:
                raise error
            outcome = task.result()
            if isinstance(outcome, Hangup):
                return CallStatus.COMPLETED, f"<{outcome.verb}>"
            next_document = outcome
        return CallStatus.COMPLETED, "end of TwiML"

    async def _run_document(self, document: Document, line: Line,
                            verbs: list[Verb] | None) -> Document | Hangup | None:
        if verbs is None:
            verbs = await self.interpreter.load(document)
        return await self.interpreter.execute(verbs, document, line)

    async def _application_error(self, error: TwimlError, line: Line) -> tuple[CallStatus, str]:
        """Twilio apologises to the callee and hangs up; the debugger shows the code."""
        self.timeline.error("application error", code=error.code, detail=error.message)
        seconds = self.context.timing.application_error_seconds
        line.bot_says(seconds)
        await asyncio.sleep(seconds)
        return CallStatus.COMPLETED, f"application error {error.code}"

    # -- helpers running beside the TwiML -----------------------------------------------

    def _callee_hung_up(self, reason: str) -> None:
        self.request_end(CallStatus.COMPLETED, reason)

    async def _on_beep(self) -> None:
        self._beeped.set()

    async def _detect_machine(self) -> None:
        """Answering-machine detection, with Twilio's results and rough timings."""
        request, timing, started = self.call.request, self.context.timing, time.monotonic()
        if self.callee.answered_by:
            await asyncio.sleep(timing.amd_human_seconds)
            answered_by = self.callee.answered_by
        elif self.callee.behaviour != "machine":
            await asyncio.sleep(timing.amd_human_seconds)
            answered_by = "human"
        elif request.machine_detection == "DetectMessageEnd":
            await self._beeped.wait()
            answered_by = "machine_end_beep"
        else:  # "Enable" reports as soon as it recognises a machine greeting
            await asyncio.sleep(timing.amd_machine_start_seconds)
            answered_by = "machine_start"
        self.call.answered_by = answered_by
        duration_ms = str(int((time.monotonic() - started) * 1000))
        self.timeline.add("amd_result", answered_by=answered_by, duration_ms=duration_ms)
        if request.async_amd and request.async_amd_callback:
            params = {"CallSid": self.call.sid, "AccountSid": self.call.account_sid,
                      "AnsweredBy": answered_by, "MachineDetectionDuration": duration_ms}
            self.context.spawn(self.context.webhooks.notify(
                self.timeline, "amd_callback", request.async_amd_callback_method,
                request.async_amd_callback, params), self.call)

    async def _enforce_time_limit(self) -> None:
        await asyncio.sleep(self.call.request.time_limit)
        self.request_end(CallStatus.COMPLETED, f"TimeLimit={self.call.request.time_limit:g} s")

    def _stream_events(self, stream: Verb) -> StreamEvent:
        """Reports for <Stream statusCallback=…>, if the TwiML asked for them."""
        url = stream.attributes.get("statusCallback")
        method = stream.attributes.get("statusCallbackMethod", "POST")

        def report(event: str, details: dict[str, str]) -> None:
            if not url:
                return
            params = {"AccountSid": self.call.account_sid, "CallSid": self.call.sid,
                      "StreamName": stream.attributes.get("name", details["StreamSid"]),
                      "StreamEvent": event, "Timestamp": rfc2822(utcnow()) or "", **details}
            self.context.spawn(self.context.webhooks.notify(
                self.timeline, "stream_callback", method, url, params), self.call)

        return report

    def _child(self, coroutine: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = self.context.spawn(coroutine, self.call)
        self._children.add(task)
        return task

    # -- status changes and their callbacks ------------------------------------------------

    def _progress(self, status: CallStatus, reason: str = "") -> None:
        self.call.set_status(status, reason)
        self._status_callback(status)

    def _status_callback(self, status: CallStatus, **extra: str) -> None:
        request = self.call.request
        event = EVENT_FOR_STATUS.get(status)
        if not request.status_callback or event not in request.status_callback_events:
            return
        params = {
            **self.call.callback_parameters(),
            "Timestamp": rfc2822(utcnow()) or "",
            "CallbackSource": "call-progress-events",
            "SequenceNumber": str(self.call.next_sequence_number()),
            **extra,
        }
        self.context.spawn(self.context.webhooks.notify(
            self.timeline, "status_callback", request.status_callback_method,
            request.status_callback, params), self.call)

    def _finish(self, status: CallStatus, reason: str) -> None:
        if self.call.status.is_final:
            return
        for task in self._children:
            task.cancel()
        if self.line is not None:
            self.line.close()
        if self._recording is not None:
            self._recording.close()
        self.call.set_status(status, reason)
        duration = self.call.duration or 0
        extra = {"CallDuration": str(duration), "Duration": str(math.ceil(duration / 60)),
                 "SipResponseCode": SIP_RESPONSE[status]}
        if self.call.recording_sid is not None and self._recording is not None:
            extra.update(
                RecordingSid=self.call.recording_sid,
                RecordingUrl=(f"{self.context.base_url()}/{API_VERSION}/Accounts/"
                              f"{self.call.account_sid}/Recordings/{self.call.recording_sid}"),
                RecordingDuration=str(math.ceil(self._recording.seconds)),
            )
            self.timeline.add("recording", sid=self.call.recording_sid,
                              wav=str(self._recording.path))
        self._status_callback(status, **extra)

    def _recording_path(self) -> Path:
        return self.context.data_dir / "recordings" / f"{self.call.recording_sid}.wav"
