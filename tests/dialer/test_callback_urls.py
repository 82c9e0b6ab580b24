"""What a dial asks of Twilio for its callbacks: each names our call (a callback can beat the
REST answer that tells us the CallSid) and asks to be retried, and Twilio's signature over
such a URL is accepted."""

import pytest

from calls.models import Call
from calls.tasks import dispatch_campaign
from campaigns import lifecycle
from tests.dialer.conftest import make_campaign
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def test_both_callbacks_name_our_call_and_ask_for_retries(emulator, worker):
    campaign = make_campaign(["+12025550111"], answering_machine_detection=True)
    lifecycle.start(campaign)
    dispatch_campaign.delay(campaign.pk)

    # The answered call ends at once here (the live server has no media socket), before any
    # AMD result: what matters is what the dial asked for.
    call = wait_until(lambda: Call.objects.filter(status=Call.Status.COMPLETED).first(), timeout=30)
    timeline = emulator.get_call(call.call_sid)["timeline"]["entries"]
    (created,) = [entry["params"] for entry in timeline if entry["kind"] == "rest_create"]
    assert created["StatusCallback"].endswith(f"/twilio/status/?call_id={call.pk}#rc=3&rp=all")
    assert created["AsyncAmdStatusCallback"].endswith(f"/twilio/amd/?call_id={call.pk}#rc=3&rp=all")
    assert created["TimeLimit"] == "3600"
    # Every callback was accepted the first time: its signature over the URL as given held.
    answers = [entry for entry in timeline if entry["kind"] == "status_callback"]
    assert len(answers) == 4
    assert {(entry["http_status"], entry["attempts"]) for entry in answers} == {(204, 1)}
