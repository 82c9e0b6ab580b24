"""What the circuit breaker counts as a failed attempt, over which calls, and when it holds
back; its run through the emulator is tests/dialer/test_breaker.py."""

from datetime import timedelta

import pytest
from django.utils import timezone

from calls import breaker
from campaigns import lifecycle
from campaigns.models import Campaign, CampaignEvent
from tests import factory

pytestmark = pytest.mark.django_db

ENDINGS = {
    "rest_error": {"call_sid": None, "status": "failed", "error_code": "21211"},
    "failed": {"status": "failed"},
    "no_media": {"status": "completed", "duration_seconds": 12},
    "bot_failed": {"status": "completed", "duration_seconds": 12, "stream_sid": "MZ1",
                   "metrics": {"session_failed": True}},
    "talked": {"status": "completed", "duration_seconds": 40, "stream_sid": "MZ1"},
    "busy": {"status": "busy"},
    "pool_refused": {"call_sid": None, "status": "failed", "error_code": "21210"},
    "refused_before_dial": {"call_sid": None, "status": "failed", "error_code": ""},
}


def running(**options) -> Campaign:
    return factory.campaign(status=Campaign.Status.RUNNING, **options)


def ended(campaign, *kinds, ago=timedelta(seconds=5)):
    for kind in kinds:
        call = factory.call(factory.lead(campaign), **ENDINGS[kind])
        call.__class__.objects.filter(pk=call.pk).update(created_at=timezone.now() - ago)


def tripped(campaign) -> bool:
    paused = breaker.check(campaign.pk)
    campaign.refresh_from_db()
    assert paused == (campaign.status == Campaign.Status.PAUSED)
    return paused


@pytest.mark.parametrize("kind", ["rest_error", "failed", "no_media", "bot_failed"])
def test_each_kind_of_failure_counts(kind):
    campaign = running()
    ended(campaign, kind, kind, kind, "talked", "talked")  # 3 of 5: 60 %
    assert tripped(campaign)
    assert CampaignEvent.objects.get().by == CampaignEvent.By.BREAKER


@pytest.mark.parametrize("kind", ["busy", "pool_refused", "refused_before_dial"])
def test_what_is_not_the_campaigns_failure_does_not_count(kind):
    campaign = running()
    ended(campaign, kind, kind, kind, "failed", "talked", "talked")
    assert not tripped(campaign)


def test_it_waits_for_the_fewest_calls_it_judges():
    campaign = running(breaker_min_calls=5)
    ended(campaign, "failed", "failed", "failed", "failed")
    assert not tripped(campaign)
    ended(campaign, "talked")
    assert tripped(campaign)  # 4 of 5: 80 %


def test_the_threshold_is_reached_at_the_share_it_names():
    campaign = running(breaker_threshold_percent=60)
    ended(campaign, "failed", "failed", "talked", "talked", "talked")  # 40 %
    assert not tripped(campaign)
    ended(campaign, "failed")  # 3 of 6: 50 %
    assert not tripped(campaign)
    ended(campaign, "failed")  # 4 of 7: 57 %
    assert not tripped(campaign)
    ended(campaign, "failed")  # 5 of 8: 62 %
    assert tripped(campaign)


def test_calls_placed_before_the_window_or_before_a_resume_are_not_judged():
    campaign = running(breaker_window_seconds=120)
    ended(campaign, "failed", "failed", "failed", "failed", "failed", ago=timedelta(minutes=3))
    assert not tripped(campaign)
    ended(campaign, "failed", "failed", "failed", "failed", "failed")
    assert tripped(campaign)
    lifecycle.resume(campaign)  # someone fixed it: the campaign starts afresh
    assert not tripped(campaign)
    ended(campaign, "failed", "failed", "failed", "failed", "failed", ago=timedelta(0))
    assert tripped(campaign)


def test_a_campaign_with_the_breaker_off_goes_on():
    campaign = running(breaker_enabled=False)
    ended(campaign, "failed", "failed", "failed", "failed", "failed")
    assert not tripped(campaign)
