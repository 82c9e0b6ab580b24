"""Twilio's REST error codes as something staff can act on.

Lead errors concern one number; account errors concern every call of the campaign (bad
credentials, an unverified caller ID), so the campaign pauses and says why."""

from dataclasses import dataclass


@dataclass(frozen=True)
class DialError:
    message: str
    account_level: bool = False  # pause the campaign: no other call can succeed either
    transient: bool = False  # try the same attempt again shortly, it is not the number's fault


KNOWN = {
    20003: DialError("Twilio refused our credentials: check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN.",
                     account_level=True),
    20429: DialError("Twilio said too many requests at once; the call will be tried again.", transient=True),
    10004: DialError("The account's concurrent call limit was reached; the call will be tried again.",
                     transient=True),
    21210: DialError("The caller ID is not a verified number of this Twilio account.", account_level=True),
    21212: DialError("The caller ID is not a valid phone number.", account_level=True),
    21211: DialError("Twilio says this is not a valid phone number."),
    21214: DialError("This number cannot be reached."),
    21215: DialError("Calls to this country or region are not enabled (geo permissions)."),
    21217: DialError("This number does not look like a phone number Twilio can call."),
}


# Twilio refusing the From number: a caller-ID pool drops that number (campaigns.caller_ids).
CALLER_ID_REFUSED = {21210, 21212}


def explain(code: int | None, twilio_message: str) -> DialError:
    if code in KNOWN:
        return KNOWN[code]
    return DialError(f"Twilio error {code}: {twilio_message}")
