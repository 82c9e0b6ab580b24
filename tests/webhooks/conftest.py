import pytest
from django.conf import settings
from twilio.request_validator import RequestValidator

from calls import status_stream
from tests.waiting import wait_until


def twilio_signature(path: str, params: dict) -> str:
    return RequestValidator(settings.TWILIO_AUTH_TOKEN).compute_signature(
        settings.PUBLIC_BASE_URL + path, params
    )


def status_callbacks_applied() -> None:
    """What the status webhook queued, stored: applied here, or by the `worker` fixture's
    applier if it took them first (they leave the stream once committed)."""
    status_stream.Applier("tests").apply_all_waiting()
    wait_until(lambda: status_stream.backlog()["entries"] == 0)


@pytest.fixture
def twilio_signed_enqueue(client):
    """POST a status callback as Twilio does and leave it in the stream, unapplied."""

    def post(params: dict):
        return client.post("/twilio/status/", params,
                           headers={"X-Twilio-Signature": twilio_signature("/twilio/status/", params)})

    return post


@pytest.fixture
def twilio_post(client):
    """POST as Twilio does: form-encoded and signed over the public URL. A status callback
    is also applied before this returns, as the applier process would a moment later."""

    def post(path: str, params: dict, signature: str | None = None):
        headers = {"X-Twilio-Signature": signature or twilio_signature(path, params)}
        response = client.post(path, params, headers=headers)
        if path.startswith("/twilio/status/"):
            status_callbacks_applied()
        return response

    return post
