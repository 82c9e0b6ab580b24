"""A receiver process standing in for a customer's CRM, and a campaign whose calls end."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from calls import status
from calls.models import Call
from campaigns.models import Campaign, Customer, Lead
from campaigns.webhooks.models import Endpoint

ROOT = Path(__file__).resolve().parents[2]


class Receiver:
    def __init__(self, log: Path, statuses: list[str]):
        self.log = log
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.outbound_webhooks.receiver", str(log), *statuses],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.url = f"http://127.0.0.1:{self.process.stdout.readline().strip()}/hooks/dialer"

    def requests(self) -> list[dict]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def receiver_factory(tmp_path, settings):
    """receiver_factory("500", "500", "200"): a receiver answering in that order."""
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True  # it listens on loopback
    started = []

    def start(*statuses: str) -> Receiver:
        started.append(Receiver(tmp_path / f"receiver-{len(started)}.jsonl", list(statuses)))
        return started[-1]

    yield start
    for receiver in started:
        receiver.stop()


@pytest.fixture
def campaign():
    return Campaign.objects.create(name="Summer sale", slug="summer_sale", caller_id="+12025550100")


@pytest.fixture
def lead(campaign):
    customer = Customer.objects.create(phone="+12025550111", first_name="Ann", last_name="Lee")
    return Lead.objects.create(
        campaign=campaign,
        customer=customer,
        parameters={"plan": "gold"},
        state=Lead.State.IN_CALL,
        attempts=1,
    )


def subscribe(url: str, *events: str, campaign=None) -> Endpoint:
    return Endpoint.objects.create(url=url, events=list(events), campaign=campaign)


def end_call(lead, sid: str = "CA" + "1" * 32, **fields) -> Call:
    """A call of this lead, answered, then Twilio's final callback: the real status path."""
    call = Call.objects.create(
        direction="outbound",
        campaign=lead.campaign,
        customer=lead.customer,
        lead=lead,
        call_sid=sid,
        to_number=lead.customer.phone,
        status="in-progress",
        **fields,
    )
    status.apply_status_callbacks(
        [
            status.StatusCallback(
                {"CallSid": sid, "CallStatus": "completed", "CallDuration": 42}, {"CallSid": sid}
            )
        ]
    )
    call.refresh_from_db()
    return call
