"""The Twilio REST client, pointed at TWILIO_API_BASE_URL (Twilio itself, or the emulator)."""

from django.conf import settings
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client


def twilio_client(timeout: float | None = None) -> Client:
    """`timeout` (seconds) bounds each request; by default the SDK waits as long as it takes."""
    client = Client(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN,
                    http_client=TwilioHttpClient(timeout=timeout))
    client.api.base_url = settings.TWILIO_API_BASE_URL
    return client


# The status callbacks our calls ask for (Twilio's default is `completed` alone).
STATUS_EVENTS = ["initiated", "ringing", "answered", "completed"]

ACCOUNT_NUMBERS_TIMEOUT = 5  # seconds; a staff page waits for the list


def account_numbers() -> list[dict]:
    """The account's numbers that can place calls (IncomingPhoneNumbers), for caller-ID
    pools: {"sid", "phone_number", "friendly_name"}, as the twilio package lists them."""
    numbers = twilio_client(ACCOUNT_NUMBERS_TIMEOUT).incoming_phone_numbers.list()
    return [{"sid": n.sid, "phone_number": n.phone_number, "friendly_name": n.friendly_name or ""}
            for n in numbers if (n.capabilities or {}).get("voice", True)]
