"""A call's timeline: everything Twilio would have seen or done, in order.

Developers read it (JSON and the HTML page) to see why a call went the way it did, and
tests assert on it, so every entry is a plain JSON-serialisable dict.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from typing import Any

from .formats import utcnow

logger = logging.getLogger("twilio_emulator")


class Timeline:
    def __init__(self, call_sid: str) -> None:
        self.call_sid = call_sid
        self.started = time.monotonic()
        self.entries: list[dict[str, Any]] = []
        # WebSocket traffic is far too chatty to log message by message: count it.
        self.ws_sent: Counter[str] = Counter()
        self.ws_received: Counter[str] = Counter()

    def add(self, kind: str, **details: Any) -> dict[str, Any]:
        entry = {
            "t": round(time.monotonic() - self.started, 3),
            "at": utcnow().isoformat(timespec="milliseconds"),
            "kind": kind,
            **details,
        }
        self.entries.append(entry)
        logger.info("%s %s %s", self.call_sid, kind, details or "")
        return entry

    def error(self, message: str, **details: Any) -> dict[str, Any]:
        """An error that Twilio would have shown in the console's debugger."""
        return self.add("error", message=message, **details)

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [entry for entry in self.entries if entry["kind"] == kind]

    def as_json(self) -> dict[str, Any]:
        return {
            "entries": list(self.entries),
            "ws_messages_sent": dict(self.ws_sent),
            "ws_messages_received": dict(self.ws_received),
        }
