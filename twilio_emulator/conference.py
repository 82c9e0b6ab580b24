"""Conferences: `<Dial><Conference>`, their participants, wait music and status callbacks.

A conference is created by the first call that joins its friendly name (TwiML, or the
Participants REST resource) and lives until it ends: when a participant with
`endConferenceOnExit` leaves, when the last one leaves, or through REST
(`Status=completed`). It starts (status `in-progress`, event `conference-start`) once two
participants are in and one of them has `startConferenceOnEnter` (the default); until then
everyone in it hears the wait music. Started, every participant hears the others, mixed on
the shared 20 ms clock (muted ones are not heard, held ones hear nothing).
"""

from __future__ import annotations

import asyncio
import io
import re
import wave
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np

from . import twiml
from .audio import (
    SAMPLE_RATE,
    SILENCE_FRAME,
    is_speech,
    pcm16_to_ulaw,
    read_wav_as_ulaw,
    tone,
    ulaw_to_pcm16,
)
from .calls import Call
from .formats import API_VERSION, new_sid, rfc2822, utcnow
from .line import Line
from .metronome import Metronome
from .timeline import Timeline
from .twiml import Document, TwimlError
from .webhooks import Webhooks

# Twilio's default waitUrl: classical hold music served by twimlets.com. The emulator is
# offline, so that URL (any twimlets.com holdmusic URL) is not fetched: soft tones play.
DEFAULT_WAIT_URL = "http://twimlets.com/holdmusic?Bucket=com.twilio.music.classical"
TWIMLETS = re.compile(r"^https?://(www\.)?twimlets\.com/holdmusic", re.IGNORECASE)
EVENTS = {"start", "end", "join", "leave", "mute", "hold", "modify", "speaker", "announcement"}
# A <Play> whose audio is not a WAV the emulator can read stands in as tones this long.
UNREADABLE_PLAY_SECONDS = 5.0
# Wait TwiML with nothing to play is requested again after this long, not in a tight loop.
MIN_WAIT_LOOP_SECONDS = 1.0
OUTBOX_FRAMES = 5  # a participant's audio waiting for the mixer, at most

Spawn = Callable[[Coroutine[Any, Any, Any], Call | None], "asyncio.Task[Any]"]


def truthy(value: str | None, default: bool) -> bool:
    if value in (None, ""):
        return default
    return str(value).strip().lower() == "true"


def events(raw: str | list[str]) -> frozenset[str]:
    values = raw if isinstance(raw, list) else [raw]
    return frozenset(word.lower() for value in values for word in re.split(r"[\s,]+", value)
                     if word.lower() in EVENTS)


def hold_music() -> bytes:
    """Four soft notes, the stand-in for Twilio's classical hold music."""
    return b"".join(tone(frequency, 0.45, amplitude=3000) + SILENCE_FRAME * 3
                    for frequency in (392.0, 440.0, 494.0, 440.0))


@dataclass
class Participant:
    call: Call
    conference: Conference
    start_conference_on_enter: bool = True
    end_conference_on_exit: bool = False
    muted: bool = False
    hold: bool = False
    label: str | None = None
    wait_url: str = DEFAULT_WAIT_URL
    wait_method: str = "POST"
    line: Line | None = None
    joined_at: float | None = None
    date_created: datetime = field(default_factory=utcnow)
    date_updated: datetime = field(default_factory=utcnow)
    left: asyncio.Event = field(default_factory=asyncio.Event)
    removal_reason: str = "participant_hung_up"  # ReasonParticipantLeft unless removed
    music: asyncio.Task[None] | None = None  # the wait music, until the conference starts
    gone: bool = False  # its leaving has been reported
    # Hangs up a participant still being dialled (one added through REST).
    cancel: Callable[[], None] | None = None
    outbox: deque[bytes] = field(default_factory=lambda: deque(maxlen=OUTBOX_FRAMES))

    @property
    def status(self) -> str:
        """Twilio's participant status, from the call's progress."""
        if self.left.is_set():
            return "complete"
        if self.line is not None:
            return "connected"
        return {"queued": "queued", "initiated": "connecting", "ringing": "ringing",
                "in-progress": "connecting"}.get(str(self.call.status), "failed")

    def to_resource(self) -> dict[str, Any]:
        conference = self.conference
        return {
            "account_sid": conference.account_sid,
            "call_sid": self.call.sid,
            "call_sid_to_coach": None,
            "coaching": False,
            "conference_sid": conference.sid,
            "date_created": rfc2822(self.date_created),
            "date_updated": rfc2822(self.date_updated),
            "end_conference_on_exit": self.end_conference_on_exit,
            "hold": self.hold,
            "label": self.label,
            "muted": self.muted,
            "queue_time": "0",
            "start_conference_on_enter": self.start_conference_on_enter,
            "status": self.status,
            "uri": f"{conference.uri.removesuffix('.json')}/Participants/{self.call.sid}.json",
        }

    def callback_fields(self) -> dict[str, str]:
        fields = {"CallSid": self.call.sid, "Muted": str(self.muted).lower(),
                  "Hold": str(self.hold).lower(), "Coaching": "false",
                  "EndConferenceOnExit": str(self.end_conference_on_exit).lower(),
                  "StartConferenceOnEnter": str(self.start_conference_on_enter).lower()}
        if self.label:
            fields["ParticipantLabel"] = self.label
        return fields


class ConferencePort:
    """Attached to a participant's line in place of a Media Stream: collects what they say."""

    def __init__(self, participant: Participant) -> None:
        self.participant = participant

    async def send_media(self, frame: bytes) -> None:
        self.participant.outbox.append(frame)

    async def send_mark(self, name: str) -> None:
        """Nobody places marks in a conference."""

    async def send_dtmf(self, digit: str) -> None:
        self.participant.call.timeline.add("dtmf_in_conference", digit=digit)


class Conference:
    def __init__(self, friendly_name: str, account_sid: str, webhooks: Webhooks,
                 spawn: Spawn, clock: Metronome,
                 session: Callable[[], aiohttp.ClientSession], data_dir: Path) -> None:
        self.sid = new_sid("CF")
        self.data_dir = data_dir
        self.friendly_name = friendly_name
        self.account_sid = account_sid
        self.webhooks = webhooks
        self.spawn = spawn
        self.clock = clock
        self.session = session
        self.status = "init"
        self.date_created = self.date_updated = utcnow()
        self.reason_conference_ended: str | None = None
        self.call_sid_ending_conference: str | None = None
        self.participants: dict[str, Participant] = {}  # current ones, by CallSid
        self.timeline = Timeline(self.sid)
        self.status_callback: str | None = None
        self.status_callback_events: frozenset[str] = frozenset()
        self.status_callback_method = "POST"
        self._sequence = 0
        self._started = asyncio.Event()
        self._mixer: asyncio.Task[None] | None = None

    @property
    def uri(self) -> str:
        return f"/{API_VERSION}/Accounts/{self.account_sid}/Conferences/{self.sid}.json"

    @property
    def ended(self) -> bool:
        return self.status == "completed"

    def to_resource(self) -> dict[str, Any]:
        base = self.uri.removesuffix(".json")
        return {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "call_sid_ending_conference": self.call_sid_ending_conference,
            "date_created": rfc2822(self.date_created),
            "date_updated": rfc2822(self.date_updated),
            "friendly_name": self.friendly_name,
            "reason_conference_ended": self.reason_conference_ended,
            "region": "us1",
            "sid": self.sid,
            "status": self.status,
            "subresource_uris": {"participants": f"{base}/Participants.json",
                                 "recordings": f"{base}/Recordings.json"},
            "uri": self.uri,
        }

    def as_json(self) -> dict[str, Any]:
        return {**self.to_resource(), "timeline": self.timeline.as_json(),
                "participants": [p.to_resource() for p in self.participants.values()]}

    def subscribe(self, url: str | None, wanted: frozenset[str], method: str) -> None:
        """The conference's status callback: the first participant that names one sets it."""
        if url and self.status_callback is None:
            self.status_callback, self.status_callback_events = url, wanted
            self.status_callback_method = method.upper() or "POST"

    # -- joining and leaving ----------------------------------------------------------

    def expect(self, participant: Participant) -> None:
        """A participant being dialled (Participants REST): listed before it answers."""
        self.participants[participant.call.sid] = participant

    async def attend(self, participant: Participant, line: Line) -> None:
        """Join, stay until removed or the conference ends; leave when cancelled too."""
        call = participant.call
        participant.line, participant.joined_at = line, asyncio.get_running_loop().time()
        participant.date_updated = utcnow()
        self.participants[call.sid] = participant
        port = ConferencePort(participant)
        line.attach(port, self.data_dir / "calls" / f"{call.sid}-from-app.wav")
        self.timeline.add("participant_join", call_sid=call.sid, label=participant.label)
        call.timeline.add("conference_join", conference_sid=self.sid,
                          friendly_name=self.friendly_name)
        self._event("join", participant)
        if self._mixer is None:
            self._mixer = self.spawn(self._mix(), None)
        if not self._started.is_set():
            participant.music = self.spawn(self._wait_music(participant), call)
        self._maybe_start(participant)
        reason = "participant_hung_up"
        try:
            await participant.left.wait()
            reason = participant.removal_reason
        finally:
            if participant.music is not None:
                participant.music.cancel()
            line.detach(port)
            self._leave(participant, reason)

    def remove(self, participant: Participant, reason: str) -> None:
        """REST removal, or the conference ending: the participant's TwiML goes on."""
        participant.removal_reason = reason
        participant.left.set()
        if participant.line is None:  # still being dialled: it will not join
            self.participants.pop(participant.call.sid, None)
            if participant.cancel is not None:
                participant.cancel()
        else:
            self._leave(participant, reason)

    def _leave(self, participant: Participant, reason: str) -> None:
        if participant.gone:
            return
        call = participant.call
        participant.gone = True
        participant.left.set()
        if self.participants.get(call.sid) is participant:
            del self.participants[call.sid]
        self.timeline.add("participant_leave", call_sid=call.sid, reason=reason)
        call.timeline.add("conference_leave", conference_sid=self.sid, reason=reason)
        self._event("leave", participant, ReasonParticipantLeft=reason,
                    ParticipantCallStatus=str(call.status))
        if self.ended:
            return
        if participant.end_conference_on_exit:
            self.end("participant-with-end-conference-on-exit-left", call.sid)
        elif not any(p.line is not None for p in self.participants.values()):
            self.end("last-participant-left", call.sid)

    def unanswered(self, participant: Participant) -> None:
        """A participant dialled through REST ended before answering."""
        if self.participants.get(participant.call.sid) is participant:
            del self.participants[participant.call.sid]
            participant.left.set()
            self._event("leave", participant, ReasonParticipantLeft="participant_not_answered",
                        ParticipantCallStatus=str(participant.call.status))
            self.timeline.add("participant_not_answered", call_sid=participant.call.sid,
                              status=str(participant.call.status))
            if not any(p.line is not None for p in self.participants.values()) and (
                    self._started.is_set() or not self.participants):
                self.end("last-participant-left", participant.call.sid)

    def end(self, reason: str, call_sid: str | None = None) -> None:
        if self.ended:
            return
        was_started = self._started.is_set()
        self.status, self.date_updated = "completed", utcnow()
        self.reason_conference_ended, self.call_sid_ending_conference = reason, call_sid
        self.timeline.add("conference_end", reason=reason, call_sid_ending_conference=call_sid)
        for participant in list(self.participants.values()):
            self.remove(participant, {
                "conference-ended-via-api": "conference_ended_via_api",
                "last-participant-left": "last_participant_left",
            }.get(reason, "participant_with_end_conference_on_exit_left"))
        if self._mixer is not None:
            self._mixer.cancel()
        if was_started or self.status_callback:
            fields = {"ReasonConferenceEnded": reason}
            if call_sid:
                fields["CallSidEndingConference"] = call_sid
            self._event("end", None, **fields)

    def update(self, participant: Participant, *, muted: bool | None, hold: bool | None) -> None:
        if muted is not None and muted != participant.muted:
            participant.muted = muted
            self._event("mute", participant)
        if hold is not None and hold != participant.hold:
            participant.hold = hold
            self._event("hold", participant)
        participant.date_updated = utcnow()

    def _maybe_start(self, joining: Participant) -> None:
        present = [p for p in self.participants.values() if p.line is not None]
        if self._started.is_set() or len(present) < 2:
            return
        if not any(p.start_conference_on_enter for p in present):
            return
        self.status, self.date_updated = "in-progress", utcnow()
        self._started.set()
        self.timeline.add("conference_start", call_sid=joining.call.sid)
        for participant in present:
            if participant.music is not None:
                participant.music.cancel()
            if participant.line is not None:
                participant.line.playout.clear()  # the wait music stops
        self._event("start", None)

    # -- audio ------------------------------------------------------------------------

    async def _mix(self) -> None:
        """Every tick, each connected participant hears the sum of the others' speech."""
        done = self.clock.join()
        try:
            while not self.ended:
                done = await self.clock.after(done)
                if not self._started.is_set():
                    for participant in self.participants.values():
                        participant.outbox.clear()
                    continue
                present = [p for p in self.participants.values() if p.line is not None]
                spoken = {id(p): p.outbox.popleft() for p in present if p.outbox}
                for listener in present:
                    if listener.hold or listener.line is None:
                        continue
                    voices = [spoken[id(p)] for p in present if p is not listener
                              and not p.muted and not p.hold and id(p) in spoken
                              and is_speech(spoken[id(p)])]
                    if len(voices) == 1:
                        listener.line.playout.enqueue(voices[0])
                    elif voices:
                        total = np.sum([ulaw_to_pcm16(v).astype(np.int32) for v in voices], axis=0)
                        listener.line.playout.enqueue(pcm16_to_ulaw(total))
        finally:
            self.clock.leave()

    async def _wait_music(self, participant: Participant) -> None:
        """What a participant hears until the conference starts: the waitUrl's TwiML."""
        line, url = participant.line, participant.wait_url
        assert line is not None
        timeline = participant.call.timeline
        if not url:
            timeline.add("conference_wait", music="silence (waitUrl is empty)")
            return
        if TWIMLETS.match(url):
            timeline.add("conference_wait", music="tones (Twilio's default hold music, "
                                                  "emulated offline)", wait_url=url)
            while True:
                await _play(line, hold_music())
        document = Document(url=url, method=participant.wait_method)
        while True:
            started = asyncio.get_running_loop().time()
            params = {**participant.call.callback_parameters(),
                      "ConferenceSid": self.sid, "FriendlyName": self.friendly_name}
            reply = await self.webhooks.request(document.method, document.url or url, params)
            timeline.add("conference_wait_url", url=document.url, http_status=reply.status,
                         error=reply.error)
            next_document: Document | None = None
            if reply.ok:
                try:
                    verbs = twiml.parse(reply.text)
                except TwimlError as exc:
                    timeline.error("wait TwiML rejected", code=exc.code, detail=exc.message)
                    verbs = []
                for verb in verbs:
                    next_document = await self._wait_verb(verb, document, participant) or None
                    if next_document is not None:
                        break
            document = next_document or Document(url=url, method=participant.wait_method)
            spent = asyncio.get_running_loop().time() - started
            await asyncio.sleep(max(0.0, MIN_WAIT_LOOP_SECONDS - spent))

    async def _wait_verb(self, verb: twiml.Verb, document: Document,
                         participant: Participant) -> Document | None:
        line, timeline = participant.line, participant.call.timeline
        assert line is not None
        if verb.name == "Play":
            loops = int(verb.attributes.get("loop", "1") or 1)
            audio, source = await self._fetch_audio(document.resolve(verb.text))
            timeline.add("conference_wait_play", url=verb.text, audio=source,
                         seconds=round(len(audio) / SAMPLE_RATE, 2))
            for _ in range(loops if loops > 0 else 1000):
                await _play(line, audio)
        elif verb.name == "Say":
            seconds = twiml.say_seconds(verb.text)
            timeline.add("conference_wait_say", text=verb.text)
            line.bot_says(seconds, verb.text)
            await asyncio.sleep(seconds)
        elif verb.name == "Pause":
            await asyncio.sleep(twiml.pause_seconds(verb))
        elif verb.name == "Redirect":
            return Document(url=document.resolve(verb.text),
                            method=verb.attributes.get("method", "POST"))
        else:
            timeline.add("twiml_skipped", verb=f"waitUrl/{verb.name}", note="not emulated")
        return None

    async def _fetch_audio(self, url: str) -> tuple[bytes, str]:
        """A <Play> URL's audio as μ-law: a WAV is played as it is, anything else as tones."""
        if TWIMLETS.match(url):
            return hold_music(), "tones (twimlets, offline)"
        try:
            async with self.session().get(url, timeout=aiohttp.ClientTimeout(total=10)) as reply:
                body = await reply.read()
            return await asyncio.to_thread(_wav_bytes_as_ulaw, body), "wav"
        except (aiohttp.ClientError, TimeoutError, ValueError, wave.Error, EOFError) as exc:
            return (tone(440.0, UNREADABLE_PLAY_SECONDS, amplitude=2000),
                    f"tones (not a readable WAV: {type(exc).__name__})")

    # -- callbacks --------------------------------------------------------------------

    def _event(self, event: str, participant: Participant | None, **fields: str) -> None:
        if event in ("start", "end"):
            name = f"conference-{event}"
        elif event == "mute" and participant is not None:
            name = "participant-mute" if participant.muted else "participant-unmute"
        elif event == "hold" and participant is not None:
            name = "participant-hold" if participant.hold else "participant-unhold"
        else:
            name = f"participant-{event}"
        if not self.status_callback or event not in self.status_callback_events:
            return
        self._sequence += 1
        params = {"ConferenceSid": self.sid, "FriendlyName": self.friendly_name,
                  "AccountSid": self.account_sid, "StatusCallbackEvent": name,
                  "SequenceNumber": str(self._sequence), "Timestamp": rfc2822(utcnow()) or "",
                  **(participant.callback_fields() if participant is not None else {}),
                  **fields}
        call = participant.call if participant is not None else None
        self.spawn(self.webhooks.notify(self.timeline, "conference_callback",
                                        self.status_callback_method, self.status_callback,
                                        params), call)


async def _play(line: Line, audio: bytes) -> None:
    """Queue audio for the participant and wait until it has played."""
    line.playout.enqueue(audio)
    while line.playout.pending_seconds > 0.05 and not line.closed:
        await asyncio.sleep(0.05)
    if line.closed:
        await asyncio.Future()  # the call is over: wait to be cancelled


def _wav_bytes_as_ulaw(body: bytes) -> bytes:
    return read_wav_as_ulaw(io.BytesIO(body))


class Conferences:
    """Every conference of the account: by SID, and the live one for each friendly name."""

    def __init__(self, account_sid: str, webhooks: Webhooks, spawn: Spawn, clock: Metronome,
                 session: Callable[[], aiohttp.ClientSession], data_dir: Path) -> None:
        self.account_sid = account_sid
        self.data_dir = data_dir
        self.webhooks = webhooks
        self.spawn = spawn
        self.clock = clock
        self.session = session
        self.by_sid: dict[str, Conference] = {}
        self._live: dict[str, Conference] = {}

    def named(self, friendly_name: str) -> Conference:
        """The live conference of that name, created if there is none."""
        conference = self._live.get(friendly_name)
        if conference is None or conference.ended:
            conference = Conference(friendly_name, self.account_sid, self.webhooks,
                                    self.spawn, self.clock, self.session, self.data_dir)
            self._live[friendly_name] = conference
            self.by_sid[conference.sid] = conference
        return conference

    def find(self, sid_or_name: str) -> Conference | None:
        if sid_or_name in self.by_sid:
            return self.by_sid[sid_or_name]
        conference = self._live.get(sid_or_name)
        return conference if conference is not None and not conference.ended else None

    def all(self) -> list[Conference]:
        return list(self.by_sid.values())
