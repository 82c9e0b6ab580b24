"""Identifiers, dates and number checks in the exact textual formats Twilio uses."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime
from email.utils import format_datetime

API_VERSION = "2010-04-01"

# Twilio accepts "+" followed by up to 15 digits (E.164); a leading digit other than 0.
# Client identifiers ("client:alice") and SIP URIs are out of scope for this emulator.
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")


def new_sid(prefix: str) -> str:
    """A Twilio-style SID: two-letter prefix plus 32 lowercase hex digits."""
    return prefix + secrets.token_hex(16)


def utcnow() -> datetime:
    return datetime.now(UTC)


def rfc2822(moment: datetime | None) -> str | None:
    """Twilio's REST dates and callback Timestamps: 'Tue, 31 Aug 2010 20:36:28 +0000'."""
    if moment is None:
        return None
    return format_datetime(moment.astimezone(UTC))


def is_e164(number: str) -> bool:
    return bool(_E164.match(number or ""))


def format_national(number: str) -> str:
    """Twilio's to_formatted/from_formatted for North American numbers, else unchanged."""
    if number.startswith("+1") and len(number) == 12:
        digits = number[2:]
        return f"({digits[:3]}) {digits[3:6]}-{digits[6:]}"
    return number
