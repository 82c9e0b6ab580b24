import pytest
from django.conf import settings
from twilio.request_validator import RequestValidator


def twilio_signature(path: str, params: dict) -> str:
    return RequestValidator(settings.TWILIO_AUTH_TOKEN).compute_signature(
        settings.PUBLIC_BASE_URL + path, params
    )


@pytest.fixture
def twilio_post(client):
    """POST as Twilio does: form-encoded and signed over the public URL."""

    def post(path: str, params: dict, signature: str | None = None):
        headers = {"X-Twilio-Signature": signature or twilio_signature(path, params)}
        return client.post(path, params, headers=headers)

    return post
