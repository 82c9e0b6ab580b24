"""`<Dial><Number>`: place the dialled leg as a call of its own, bridge it, report the outcome.

Each `<Number>` becomes a Call (direction `outbound-dial`, `parent_call_sid` = the caller's
call, From = the Dial's `callerId`) answered by the scenario's callee for that number, so
it shows in the Calls list and has its own timeline. Several `<Number>`s ring at once; the
first to answer is bridged and the others are canceled. Bridged, each person hears the
other: one line's callee audio is played into the other line, frame by frame on the shared
clock. When the dialled leg ends, the `action` URL is requested (signed, like every
webhook) with DialCallStatus, DialCallSid, DialCallDuration and DialBridged, and the TwiML
it returns continues the caller's call; without `action` the next verb runs.

`<Dial><Conference>` joins the call to a conference (conference.py) instead; the action
then reports how long the call was in it.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, Protocol

from .calls import Call, CallRequest, CallStatus
from .conference import DEFAULT_WAIT_URL, Conferences, Participant, events, truthy
from .formats import is_e164
from .line import Line
from .timeline import Timeline
from .twiml import Document, Verb
from .webhooks import Webhooks

DEFAULT_TIMEOUT = 30.0  # <Dial timeout>, seconds
MAX_TIMEOUT = 600.0
DEFAULT_TIME_LIMIT = 14400.0
STATUS_EVENTS = {"initiated", "ringing", "answered", "completed"}
# How long, after the caller's side of a <Dial> was interrupted, to wait to learn whether
# the caller hung up (the action is then requested, its TwiML ignored) or was redirected.
HANGUP_GRACE_SECONDS = 1.0


class Leg(Protocol):
    """What a <Dial> needs from the runner of a dialled call."""

    call: Call
    answered: asyncio.Event
    line: Line | None

    def request_end(self, status: CallStatus, reason: str) -> None: ...


PlaceLeg = Callable[[CallRequest], Leg]
Spawn = Callable[[Coroutine[Any, Any, Any], Call], "asyncio.Task[Any]"]


def normalize_number(text: str) -> str:
    """E.164 from what Twilio accepts in <Number>: E.164, or a US number written loosely."""
    digits = re.sub(r"[\s().-]", "", text)
    if re.fullmatch(r"\d{10}", digits):
        return "+1" + digits
    if re.fullmatch(r"1\d{10}", digits):
        return "+" + digits
    return digits


def seconds(raw: str | None, default: float, maximum: float) -> float:
    try:
        value = float(raw) if raw not in (None, "") else default
    except ValueError:
        return default
    # Twilio raises timeouts under 5 s; kept here, so tests reach no-answer quickly.
    return min(max(value, 0.0), maximum)


def other_party(call: Call) -> str:
    """The person on the far end of `call`: the callee of an outbound call, else the caller."""
    return call.request.to if call.request.direction.startswith("outbound") else call.request.from_


def dial_status(leg: Call) -> str:
    return "completed" if leg.answered_at is not None else str(leg.status)


class LinePort:
    """Bridges two answered lines: what one callee says is played to the other.

    Attached to a line in place of a Media Stream, it receives that line's callee audio
    every tick and queues it on the other line, which plays it a tick later.
    """

    def __init__(self, listener: Line, timeline: Timeline, speaker: str) -> None:
        self.listener = listener
        self.timeline = timeline
        self.speaker = speaker

    async def send_media(self, frame: bytes) -> None:
        if not self.listener.closed:
            self.listener.playout.enqueue(frame)

    async def send_mark(self, name: str) -> None:
        """Nobody places marks on a bridge."""

    async def send_dtmf(self, digit: str) -> None:
        # In-band on a real bridge: the other person hears the tone, nobody receives an event.
        self.timeline.add("dtmf_over_bridge", digit=digit, pressed_by=self.speaker)


class Dialer:
    """Runs <Dial> for one call."""

    def __init__(self, call: Call, place_leg: PlaceLeg, webhooks: Webhooks, spawn: Spawn,
                 data_dir: Path, conferences: Conferences) -> None:
        self.call = call
        self.conferences = conferences
        self.place_leg = place_leg
        self.webhooks = webhooks
        self.spawn = spawn
        self.data_dir = data_dir
        self.timeline = call.timeline

    async def run(self, verb: Verb, document: Document, line: Line) -> Document | None:
        attributes = verb.attributes
        caller_id = attributes.get("callerId") or self.call.request.from_
        numbers = [(normalize_number(noun.text), noun.attributes)
                   for noun in verb.children if noun.name == "Number"]
        if not verb.children and verb.text:
            numbers = [(normalize_number(verb.text), {})]
        action = document.resolve(attributes["action"]) if attributes.get("action") else None
        method = attributes.get("method", "POST").upper()
        for noun in verb.children:
            if noun.name == "Conference":
                return await self._conference(noun, line, action, method)
            if noun.name != "Number":
                self.timeline.add("twiml_skipped", verb=f"Dial/{noun.name}", note="not emulated")
        if not numbers:
            return None
        timeout = seconds(attributes.get("timeout"), DEFAULT_TIMEOUT, MAX_TIMEOUT)
        time_limit = seconds(attributes.get("timeLimit"), DEFAULT_TIME_LIMIT, DEFAULT_TIME_LIMIT)

        if not is_e164(caller_id):
            self.timeline.error("invalid <Dial> callerId", code=13214, caller_id=caller_id)
            return self._after(action, method, {"DialCallStatus": "failed"})
        legs = []
        for number, noun in numbers:
            if not is_e164(number):
                self.timeline.error("invalid <Number>", code=13223, number=number)
                continue
            legs.append(self.place_leg(CallRequest(
                to=number, from_=caller_id, direction="outbound-dial", timeout=timeout,
                time_limit=time_limit, parent_call_sid=self.call.sid,
                status_callback=noun.get("statusCallback") or None,
                status_callback_events=_events(noun.get("statusCallbackEvent", "")),
                status_callback_method=noun.get("statusCallbackMethod", "POST").upper(),
            )))
        if not legs:
            return self._after(action, method, {"DialCallStatus": "failed"})
        self.timeline.add("dial", numbers=[leg.call.request.to for leg in legs],
                          caller_id=caller_id, timeout=timeout, action=action,
                          dial_call_sids=[leg.call.sid for leg in legs])
        bridged: Leg | None = None
        try:
            bridged = await _first_to_answer(legs)
            for leg in legs:
                if leg is not bridged:
                    leg.request_end(CallStatus.CANCELED, "another <Number> answered first")
            if bridged is not None:
                await self._bridge(bridged, line, caller_id)
        except asyncio.CancelledError:
            # The caller hung up, or the call was sent new TwiML: the dialled legs end.
            for leg in legs:
                if leg.call.answered_at is not None:
                    leg.request_end(CallStatus.COMPLETED, "the caller's side of the <Dial> ended")
                else:
                    leg.request_end(CallStatus.CANCELED, "the caller's side of the <Dial> ended")
            if action is not None:
                self.spawn(self._action_after_hangup(legs, bridged, action, method), self.call)
            raise
        chosen = bridged or _most_telling(legs)
        await chosen.call.wait_ended()
        results = self._results(chosen, bridged is not None)
        self.timeline.add("dial_ended", **{name: value for name, value in results.items()})
        return self._after(action, method, results)

    async def _bridge(self, leg: Leg, line: Line, caller_id: str) -> None:
        """Connect the caller and the answered leg until the leg's call ends."""
        assert leg.line is not None
        party, number = other_party(self.call), leg.call.request.to
        text = f"bridged {party} to {number} from {caller_id}"
        self.timeline.add("dial_bridged", text=text, caller=party, number=number,
                          caller_id=caller_id, dial_call_sid=leg.call.sid)
        leg.call.timeline.add("dial_bridged", text=text, caller=party, number=number,
                              caller_id=caller_id, parent_call_sid=self.call.sid)
        to_leg = LinePort(leg.line, self.timeline, party)
        to_caller = LinePort(line, leg.call.timeline, number)
        line.attach(to_leg, self.data_dir / "calls" / f"{self.call.sid}-from-app.wav")
        leg.line.attach(to_caller, self.data_dir / "calls" / f"{leg.call.sid}-from-app.wav")
        try:
            await leg.call.wait_ended()
        finally:
            line.detach(to_leg)
            leg.line.detach(to_caller)
            self.timeline.add("dial_unbridged", dial_call_sid=leg.call.sid)

    async def _conference(self, noun: Verb, line: Line, action: str | None,
                          method: str) -> Document | None:
        """Join the conference named by the noun's text until one leaves the other."""
        attributes, name = noun.attributes, noun.text
        conference = self.conferences.named(name)
        participant = conference.participants.get(self.call.sid)
        if participant is None or participant.line is not None:
            # Joining through TwiML; a participant added through REST was set up there.
            participant = Participant(
                call=self.call, conference=conference,
                start_conference_on_enter=truthy(attributes.get("startConferenceOnEnter"), True),
                end_conference_on_exit=truthy(attributes.get("endConferenceOnExit"), False),
                muted=truthy(attributes.get("muted"), False),
                label=attributes.get("participantLabel") or None,
                wait_url=attributes.get("waitUrl", DEFAULT_WAIT_URL),
                wait_method=attributes.get("waitMethod", "POST").upper())
            conference.subscribe(attributes.get("statusCallback"),
                                 events(attributes.get("statusCallbackEvent", "")),
                                 attributes.get("statusCallbackMethod", "POST"))
        self.timeline.add("dial_conference", friendly_name=name, conference_sid=conference.sid,
                          text=f"{other_party(self.call)} joined conference {name}")
        joined = asyncio.get_running_loop().time()
        await conference.attend(participant, line)
        seconds_in = asyncio.get_running_loop().time() - joined
        results = {"DialCallStatus": "answered", "DialCallDuration": str(round(seconds_in)),
                   "ConferenceSid": conference.sid}
        self.timeline.add("dial_ended", **results)
        return self._after(action, method, results)

    def _results(self, leg: Leg, bridged: bool) -> dict[str, str]:
        return {"DialCallStatus": dial_status(leg.call), "DialCallSid": leg.call.sid,
                "DialCallDuration": str(leg.call.duration or 0),
                "DialBridged": "true" if bridged else "false"}

    def _after(self, action: str | None, method: str, results: dict[str, str]
               ) -> Document | None:
        if action is None:
            return None
        self.timeline.add("dial_action", url=action, params=results)
        return Document(url=action, method=method, params=tuple(results.items()))

    async def _action_after_hangup(self, legs: list[Leg], bridged: Leg | None, action: str,
                                   method: str) -> None:
        """Twilio still requests the action when the caller hangs up, and ignores its TwiML."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.call.wait_ended(), HANGUP_GRACE_SECONDS)
        if not self.call.status.is_final:
            return  # redirected: the new TwiML runs, the <Dial> reports nothing
        chosen = bridged or _most_telling(legs)
        await chosen.call.wait_ended()
        results = self._results(chosen, bridged is not None)
        params = {**self.call.callback_parameters(), **results}
        await self.webhooks.notify(self.timeline, "dial_action_after_hangup", method, action,
                                   params)


def _events(raw: str) -> frozenset[str]:
    events = {word.lower() for word in re.split(r"[\s,]+", raw) if word} & STATUS_EVENTS
    return frozenset(events) or frozenset({"completed"})


async def _first_to_answer(legs: list[Leg]) -> Leg | None:
    """The first leg to answer, or None once every leg has ended unanswered."""
    while True:
        for leg in legs:
            if leg.answered.is_set():
                return leg
        ringing = [leg for leg in legs if not leg.call.status.is_final]
        if not ringing:
            return None
        waiters = [asyncio.ensure_future(leg.answered.wait()) for leg in ringing]
        waiters += [asyncio.ensure_future(leg.call.wait_ended()) for leg in ringing]
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()


def _most_telling(legs: list[Leg]) -> Leg:
    """Of several unanswered legs, the one whose status says most about why."""
    order = {CallStatus.BUSY: 0, CallStatus.NO_ANSWER: 1, CallStatus.FAILED: 2}
    return min(legs, key=lambda leg: order.get(leg.call.status, 3))
