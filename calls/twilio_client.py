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
