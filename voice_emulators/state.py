"""What the three emulated services share: the key, the faults waiting to be injected, a
log of what happened. The services and the server both import this; it imports neither."""

from __future__ import annotations

import hmac
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

SERVICES = ("deepgram", "openai", "cartesia")
FAULT_KINDS = ("reject_key", "slow_first_byte", "drop", "rate_limit")
LOG_SIZE = 2000


@dataclass
class Fault:
    """One fault to inject: the next `count` connections (or requests) of `service` get it.

    reject_key: refused as a wrong key is. slow_first_byte: the first audio or token waits
    `seconds`. drop: the socket (or stream) is cut `seconds` into the answer, mid-utterance.
    rate_limit: 429 with `Retry-After: retry_after`.
    """

    service: str
    kind: str
    count: int = 1
    seconds: float = 0.0
    retry_after: int = 1

    def __post_init__(self) -> None:
        if self.service not in SERVICES:
            raise ValueError(f"service must be one of {', '.join(SERVICES)}")
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"kind must be one of {', '.join(FAULT_KINDS)}")
        if self.count < 1:
            raise ValueError("count must be at least 1")


@dataclass
class State:
    api_key: str = ""
    faults: list[Fault] = field(default_factory=list)
    log: deque = field(default_factory=lambda: deque(maxlen=LOG_SIZE))

    def key_ok(self, given: str | None) -> bool:
        """Any non-empty key when the server was started without one, else that key."""
        if not given:
            return False
        return not self.api_key or hmac.compare_digest(given, self.api_key)

    def take_fault(self, service: str, *kinds: str) -> Fault | None:
        """The next fault of these kinds for the service, used up once per connection."""
        for fault in self.faults:
            if fault.service == service and fault.kind in kinds:
                fault.count -= 1
                if fault.count <= 0:
                    self.faults.remove(fault)
                self.note(service, "fault", kind=fault.kind)
                return fault
        return None

    def note(self, service: str, event: str, **details: Any) -> None:
        self.log.append({"at": time.time(), "service": service, "event": event, **details})


STATE: web.AppKey[State] = web.AppKey("state")


def state_of(request: web.Request) -> State:
    return request.app[STATE]
