"""A whole campaign against the Twilio emulator, dialled by a real Celery worker through
the real Redis broker, with Twilio's signed status callbacks driving the retries."""

import time
from collections import Counter

import pytest
import redis
from django.conf import settings

from calls import metrics
from calls.models import Call
from calls.tasks import dispatch_campaign
from campaigns import lifecycle
from campaigns.models import Campaign, Disposition, Lead
from tests.dialer.conftest import make_campaign

pytestmark = pytest.mark.django_db(transaction=True)


def run_until_finished(campaign, timeout=90):
    """Beat's job, done by the test: tick until every lead is final."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        campaign.refresh_from_db()
        if campaign.status == Campaign.Status.COMPLETED:
            return
        dispatch_campaign.delay(campaign.pk)
        time.sleep(0.5)
    states = Counter(Lead.objects.values_list("state", flat=True))
    raise AssertionError(f"campaign still {campaign.status} after {timeout}s: {states}")


def test_a_campaign_of_twenty_completes_with_the_right_outcomes_and_retries(emulator, worker):
    # Twelve people answer, four are busy, two never answer, two numbers fail.
    endings = ["11"] * 12 + ["04"] * 4 + ["05"] * 2 + ["08"] * 2
    numbers = [f"+1202555{index:02d}{ending}" for index, ending in enumerate(endings)]
    campaign = make_campaign(numbers, max_attempts=2)
    lifecycle.start(campaign)

    run_until_finished(campaign)

    leads = {lead.customer.phone: lead for lead in Lead.objects.select_related("customer")}
    for number, lead in leads.items():
        answered = number.endswith("11")
        assert lead.state == (Lead.State.DONE if answered else Lead.State.FAILED), number
        assert lead.attempts == (1 if answered else 2), number
    outcomes = Counter(lead.last_outcome for lead in leads.values())
    assert outcomes == {Disposition.COMPLETED: 12, Disposition.BUSY: 4, Disposition.NO_ANSWER: 2,
                        Disposition.FAILED: 2}

    # Twilio saw exactly one call per attempt, and every Call row knows its CallSid.
    dialled = Counter(call["to"] for call in emulator.calls())
    assert dialled == {number: lead.attempts for number, lead in leads.items()}
    assert Call.objects.count() == 28
    assert not Call.objects.filter(call_sid__isnull=True).exists()
    assert set(Call.objects.values_list("status", flat=True)) <= Call.FINAL_STATUSES
    # Every web process's /metrics reports what the workers placed.
    assert dial_counts(campaign) == (28, 0)


def test_an_unverified_caller_id_pauses_the_campaign_and_says_why(emulator, worker, settings):
    settings.TWILIO_AUTH_TOKEN = "a-wrong-token"  # the emulator answers 20003
    campaign = make_campaign(["+12025550111"])
    lifecycle.start(campaign)
    dispatch_campaign.delay(campaign.pk)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        campaign.refresh_from_db()
        if campaign.status == Campaign.Status.PAUSED:
            break
        time.sleep(0.2)
    assert campaign.status == Campaign.Status.PAUSED
    assert "credentials" in campaign.status_reason
    lead = Lead.objects.get()
    assert lead.state == Lead.State.RETRY and lead.attempts == 0  # the attempt was given back
    assert Call.objects.get().error_code == "20003"
    assert dial_counts(campaign) == (0, 1)


def dial_counts(campaign) -> tuple[int, int]:
    client = redis.Redis.from_url(settings.REDIS_URL)
    label = campaign.slug or str(campaign.pk)
    return tuple(int(client.hget(key, label) or 0) for key in (metrics.PLACED_KEY, metrics.FAILED_KEY))
