"""The account's phone numbers: Twilio's IncomingPhoneNumbers resource, and the caller IDs
the account may call from.

A scenario lists them under `numbers:`; tests add or change them at run time
(`POST /_emulator/numbers.json`, `EmulatorThread.set_number`). A number marked with
`refuse_caller_id: 21210` (or 21212) is refused as the From of an outbound call with that
error, as Twilio refuses a caller ID that is not (or no longer) verified or valid. Any other
From is accepted, as before the account had numbers: the emulator does not insist that
every caller ID is one of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .formats import API_VERSION, format_national, is_e164, new_sid, rfc2822, utcnow

CALLER_ID_ERRORS = {
    21210: "The source phone number provided, {number}, is not yet verified for your account. "
           "You may only make calls from phone numbers that you've verified or purchased from Twilio.",
    21212: "The caller ID {number} is not a valid phone number, shortcode, or alphanumeric sender ID.",
}


class NumberError(ValueError):
    """A number entry the emulator cannot hold."""


@dataclass
class IncomingNumber:
    phone_number: str
    friendly_name: str = ""
    voice_url: str = ""
    refuse_caller_id: int | None = None
    sid: str = field(default_factory=lambda: new_sid("PN"))
    date_created: datetime = field(default_factory=utcnow)

    @classmethod
    def parse(cls, raw: Any) -> IncomingNumber:
        if not isinstance(raw, dict):
            raise NumberError(f"a number is a mapping with phone_number, got {raw!r}")
        number = str(raw.get("phone_number", ""))
        if not is_e164(number):
            raise NumberError(f"phone_number must be E.164 (+15551234567), got {number!r}")
        refuse = raw.get("refuse_caller_id")
        if refuse is not None and int(refuse) not in CALLER_ID_ERRORS:
            raise NumberError(f"refuse_caller_id must be one of {sorted(CALLER_ID_ERRORS)}, got {refuse!r}")
        name = raw.get("friendly_name") or format_national(number)
        return cls(phone_number=number, friendly_name=str(name),
                   voice_url=str(raw.get("voice_url", "")),
                   refuse_caller_id=int(refuse) if refuse is not None else None)

    def to_resource(self, account_sid: str) -> dict[str, Any]:
        """The IncomingPhoneNumber resource as Twilio's REST API returns it (voice only)."""
        return {
            "account_sid": account_sid,
            "address_requirements": "none",
            "api_version": API_VERSION,
            "beta": False,
            "capabilities": {"voice": True, "sms": False, "mms": False, "fax": False},
            "date_created": rfc2822(self.date_created),
            "date_updated": rfc2822(self.date_created),
            "friendly_name": self.friendly_name,
            "origin": "twilio",
            "phone_number": self.phone_number,
            "sid": self.sid,
            "status": "in-use",
            "status_callback": "",
            "status_callback_method": "POST",
            "uri": f"/{API_VERSION}/Accounts/{account_sid}/IncomingPhoneNumbers/{self.sid}.json",
            "voice_caller_id_lookup": False,
            "voice_method": "POST",
            "voice_url": self.voice_url,
        }

    def caller_id_refusal(self) -> tuple[int, str] | None:
        if self.refuse_caller_id is None:
            return None
        return self.refuse_caller_id, CALLER_ID_ERRORS[self.refuse_caller_id].format(number=self.phone_number)


class NumberBook:
    """The account's numbers in the order they were added (Twilio lists oldest first)."""

    def __init__(self, numbers: list[IncomingNumber] | None = None) -> None:
        self.by_number: dict[str, IncomingNumber] = {}
        for number in numbers or ():
            self.by_number[number.phone_number] = number

    def all(self) -> list[IncomingNumber]:
        return list(self.by_number.values())

    def by_sid(self, sid: str) -> IncomingNumber | None:
        return next((n for n in self.by_number.values() if n.sid == sid), None)

    def put(self, raw: dict[str, Any]) -> IncomingNumber:
        """Add a number, or change the one with that phone_number (keeping its sid)."""
        number = IncomingNumber.parse(raw)
        known = self.by_number.get(number.phone_number)
        if known is not None:
            number.sid, number.date_created = known.sid, known.date_created
        self.by_number[number.phone_number] = number
        return number

    def caller_id_refusal(self, from_: str) -> tuple[int, str] | None:
        number = self.by_number.get(from_)
        return number.caller_id_refusal() if number else None
