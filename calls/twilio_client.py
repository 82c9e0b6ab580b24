"""The Twilio REST client, pointed at TWILIO_API_BASE_URL (Twilio itself, or the emulator)."""

from django.conf import settings
from twilio.rest import Client


def twilio_client() -> Client:
    client = Client(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN)
    client.api.base_url = settings.TWILIO_API_BASE_URL
    return client
