"""The Call resource: parameters it was created with, its status, its REST shape."""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from .formats import API_VERSION, format_national, new_sid, rfc2822, utcnow
from .timeline import Timeline


class CallStatus(StrEnum):
    QUEUED = "queued"
    INITIATED = "initiated"
    RINGING = "ringing"
    IN_PROGRESS = "in-progress"
    COMPLETED = "completed"
    BUSY = "busy"
    FAILED = "failed"
    NO_ANSWER = "no-answer"
    CANCELED = "canceled"

    @property
    def is_final(self) -> bool:
        return self in FINAL_STATUSES


FINAL_STATUSES = frozenset({CallStatus.COMPLETED, CallStatus.BUSY, CallStatus.FAILED,
                            CallStatus.NO_ANSWER, CallStatus.CANCELED})

# The status-callback event that reports each status.
EVENT_FOR_STATUS = {
    CallStatus.INITIATED: "initiated",
    CallStatus.RINGING: "ringing",
    CallStatus.IN_PROGRESS: "answered",
    **{status: "completed" for status in FINAL_STATUSES},
}

PRICE_PER_MINUTE = 0.014

SIP_RESPONSE = {
    CallStatus.COMPLETED: "200",
    CallStatus.BUSY: "486",
    CallStatus.NO_ANSWER: "487",
    CallStatus.CANCELED: "487",
    CallStatus.FAILED: "404",
}


@dataclass
class CallRequest:
    """What the creator asked for (REST parameters, or a number's configuration)."""

    to: str
    from_: str
    direction: str = "outbound-api"
    url: str | None = None
    twiml: str | None = None
    method: str = "POST"
    status_callback: str | None = None
    status_callback_events: frozenset[str] = frozenset({"completed"})
    status_callback_method: str = "POST"
    timeout: float = 60.0
    time_limit: float = 14400.0
    machine_detection: str | None = None
    async_amd: bool = False
    async_amd_callback: str | None = None
    async_amd_callback_method: str = "POST"
    record: bool = False
    # A leg placed by <Dial> (direction "outbound-dial") or a conference participant: the
    # call that dialled it.
    parent_call_sid: str | None = None


@dataclass
class Call:
    account_sid: str
    request: CallRequest
    sid: str = field(default_factory=lambda: new_sid("CA"))
    status: CallStatus = CallStatus.QUEUED
    date_created: datetime = field(default_factory=utcnow)
    date_updated: datetime = field(default_factory=utcnow)
    start_time: datetime | None = None
    end_time: datetime | None = None
    answered_at: float | None = None  # monotonic, for the duration
    duration: int | None = None
    answered_by: str | None = None
    recording_sid: str | None = None
    callee_name: str = ""
    end_reason: str = ""
    timeline: Timeline = field(init=False)
    _sequence: int = field(default=0, init=False)
    _ended: asyncio.Event = field(default_factory=asyncio.Event, init=False)

    def __post_init__(self) -> None:
        self.timeline = Timeline(self.sid)

    @property
    def uri(self) -> str:
        return f"/{API_VERSION}/Accounts/{self.account_sid}/Calls/{self.sid}.json"

    def next_sequence_number(self) -> int:
        number = self._sequence
        self._sequence += 1
        return number

    def set_status(self, status: CallStatus, reason: str = "") -> None:
        if self.status.is_final:
            return  # a finished call never changes again
        self.status = status
        self.date_updated = utcnow()
        if status in (CallStatus.INITIATED, CallStatus.RINGING) and self.start_time is None:
            self.start_time = self.date_updated
        if status is CallStatus.IN_PROGRESS:
            self.answered_at = time.monotonic()
            self.start_time = self.date_updated
        if status.is_final:
            self.end_time = self.date_updated
            self.end_reason = reason
            self.duration = (math.ceil(time.monotonic() - self.answered_at)
                             if self.answered_at is not None else 0)
            self._ended.set()
        self.timeline.add("status", status=str(status), reason=reason)

    async def wait_ended(self) -> None:
        await self._ended.wait()

    def callback_parameters(self) -> dict[str, str]:
        """The parameters Twilio puts in every webhook about this call."""
        request = self.request
        params = {
            "CallSid": self.sid,
            "AccountSid": self.account_sid,
            "From": request.from_,
            "To": request.to,
            "Caller": request.from_,
            "Called": request.to,
            "CallStatus": str(self.status),
            "Direction": request.direction,
            "ApiVersion": API_VERSION,
        }
        if self.answered_by:
            params["AnsweredBy"] = self.answered_by
        if request.parent_call_sid:
            params["ParentCallSid"] = request.parent_call_sid
        return params

    @property
    def price(self) -> str | None:
        """Like Twilio: a negative amount per started minute once an answered call has ended
        (the emulator's rate, not Twilio's), none while it lasts or if nobody answered."""
        if not self.status.is_final or not self.duration:
            return None
        return f"{-PRICE_PER_MINUTE * math.ceil(self.duration / 60):.5f}"

    def to_resource(self) -> dict[str, Any]:
        """The Call resource exactly as Twilio's REST API returns it."""
        base = f"/{API_VERSION}/Accounts/{self.account_sid}/Calls/{self.sid}"
        return {
            "account_sid": self.account_sid,
            "annotation": None,
            "answered_by": self.answered_by,
            "api_version": API_VERSION,
            "caller_name": None,
            "date_created": rfc2822(self.date_created),
            "date_updated": rfc2822(self.date_updated),
            "direction": self.request.direction,
            "duration": str(self.duration) if self.duration is not None else None,
            "end_time": rfc2822(self.end_time),
            "forwarded_from": None,
            "from": self.request.from_,
            "from_formatted": format_national(self.request.from_),
            "group_sid": None,
            "parent_call_sid": self.request.parent_call_sid,
            "phone_number_sid": None,
            "price": self.price,
            "price_unit": "USD",
            "queue_time": "0",
            "sid": self.sid,
            "start_time": rfc2822(self.start_time),
            "status": str(self.status),
            "subresource_uris": {
                name: f"{base}/{path}.json" for name, path in (
                    ("notifications", "Notifications"), ("recordings", "Recordings"),
                    ("payments", "Payments"), ("events", "Events"), ("siprec", "Siprec"),
                    ("streams", "Streams"), ("transcriptions", "Transcriptions"),
                    ("user_defined_message_subscriptions", "UserDefinedMessageSubscriptions"),
                    ("user_defined_messages", "UserDefinedMessages"),
                )
            },
            "to": self.request.to,
            "to_formatted": format_national(self.request.to),
            "trunk_sid": None,
            "uri": self.uri,
        }


class CallPacer:
    """The account's calls-per-second limit: later calls wait (queued), in order."""

    def __init__(self, calls_per_second: float) -> None:
        self.interval = 1.0 / calls_per_second if calls_per_second > 0 else 0.0
        self._lock = asyncio.Lock()  # asyncio locks are fair: first queued, first started
        self._next_start = 0.0

    async def wait_turn(self) -> None:
        if self.interval == 0:
            return
        async with self._lock:
            delay = self._next_start - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            self._next_start = time.monotonic() + self.interval
