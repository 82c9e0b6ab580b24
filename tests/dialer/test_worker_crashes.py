"""Fault injection: a worker killed with SIGKILL at any point of a dial leaves no lead
dialled twice and none lost — status callbacks and the reaper settle what it left."""

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from calls import tasks
from calls.dialer import reaper
from calls.models import Call
from calls.tasks import dispatch_campaign, place_call
from campaigns import lifecycle
from campaigns.models import Lead
from tests.dialer.conftest import make_campaign
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[2]
NUMBER = "+12025550111"


def crash_a_worker_at(point: str) -> None:
    env = {**os.environ, "DATABASE_URL": _test_database_url(),
           "PUBLIC_BASE_URL": settings.PUBLIC_BASE_URL, "TWILIO_API_BASE_URL": settings.TWILIO_API_BASE_URL,
           "TWILIO_ACCOUNT_SID": settings.TWILIO_ACCOUNT_SID, "TWILIO_AUTH_TOKEN": settings.TWILIO_AUTH_TOKEN}
    worker = subprocess.Popen(
        [sys.executable, "-m", "tests.dialer.crashing_worker", point, settings.CELERY_TASK_DEFAULT_QUEUE],
        cwd=ROOT, env=env,
    )
    try:
        assert worker.wait(timeout=60) == -9, "the worker should have died by SIGKILL"
    finally:
        worker.kill()


def _test_database_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def dials(emulator) -> int:
    return sum(1 for call in emulator.calls() if call["to"] == NUMBER)


def settled(lead) -> bool:
    lead.refresh_from_db()
    return lead.state == Lead.State.DONE


def later():
    return timezone.now() + reaper.UNKNOWN_DIAL_GRACE + timedelta(seconds=5)


@pytest.fixture
def campaign(emulator):
    campaign = make_campaign([NUMBER])
    lifecycle.start(campaign)
    dispatch_campaign.delay(campaign.pk)
    return campaign


def test_killed_after_twilio_accepted_the_call(emulator, campaign, status_callback_applier):
    crash_a_worker_at("after-dial")
    lead = Lead.objects.get()
    # Twilio placed the call; its status callbacks carry our call id, and the applier (a
    # process of its own, alive) completes it and settles the lead.
    call = wait_until(lambda: Call.objects.filter(status=Call.Status.COMPLETED).first())
    assert call.call_sid
    wait_until(lambda: settled(lead))

    assert reaper.reap(now=later()) == {"requeued": 0, "reconciled": 0, "released": 0, "fetched": 0,
                                          "settled": 0, "transfers": 0}
    place_call.apply(args=(call.pk,))  # the crashed task, delivered again
    dispatch_campaign.apply(args=(campaign.pk,))
    assert dials(emulator) == 1
    assert Call.objects.count() == 1


def test_a_final_call_whose_lead_was_never_settled_is_settled_by_the_reaper(emulator, campaign,
                                                                          status_callback_applier):
    crash_a_worker_at("after-dial")
    call = wait_until(lambda: Call.objects.filter(status=Call.Status.COMPLETED).first())
    lead = Lead.objects.get()
    wait_until(lambda: settled(lead))
    # As if the applier had died between its commit and the settling.
    Lead.objects.filter(pk=lead.pk).update(state=Lead.State.IN_CALL)
    Call.objects.filter(pk=call.pk).update(ended_at=timezone.now() - timedelta(hours=1))

    assert reaper.reap(now=later())["settled"] == 1
    assert settled(lead)


def test_killed_before_the_request_reached_twilio(emulator, campaign, worker_factory):
    crash_a_worker_at("before-dial")
    lead = Lead.objects.get()
    assert lead.state == Lead.State.DIALING and dials(emulator) == 0

    counts = reaper.reap(now=later())  # finds no such call at Twilio: gives the attempt back
    assert counts["released"] == 1
    lead.refresh_from_db()
    assert lead.state == Lead.State.RETRY and lead.attempts == 0

    with worker_factory():
        dispatch_campaign.delay(campaign.pk)
        wait_until(lambda: settled(lead), timeout=30)
    assert dials(emulator) == 1 and lead.attempts == 1


def test_killed_between_claim_and_dial(emulator, campaign, worker_factory):
    crash_a_worker_at("after-claim")
    lead = Lead.objects.get()
    assert lead.state == Lead.State.DIALING and dials(emulator) == 0

    with worker_factory():
        reaped = reaper.reap(now=later())
        assert reaped["requeued"] == 1
        tasks.send_again(reaped)  # what the reap_dials task does with them
        wait_until(lambda: settled(lead), timeout=30)
    assert dials(emulator) == 1 and Call.objects.count() == 1
