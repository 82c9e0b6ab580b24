"""A campaign's compliance settings, in the callee's own zone, where the dispatcher claims
and again in the last look before the dial: hours per weekday, dates not to call, at most
N calls a day to one contact; the national 08:00–21:00 rule whatever they say."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from calls.dialer.claiming import claim_due_leads
from calls.dialer.placing import place_call
from calls.models import Call
from campaigns import lifecycle
from campaigns.models import Campaign, Lead
from tests import factory
from tests.dialer.conftest import make_campaign

pytestmark = pytest.mark.django_db

THURSDAY_NOON = datetime(2027, 7, 1, 12, 0, tzinfo=UTC)  # 13:00 in London
SATURDAY = datetime(2027, 7, 3, tzinfo=UTC)


def running(numbers=("+12025550111",), zone="Europe/London", **options) -> Campaign:
    campaign = make_campaign(list(numbers), zone=zone, window_start=time(9), window_end=time(20), **options)
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.RUNNING)
    return campaign


def claimed_numbers(campaign, now) -> list[str]:
    return sorted(Call.objects.get(pk=pk).to_number for pk in claim_due_leads(campaign.pk, now))


class TestHoursByWeekday:
    def test_a_weekday_with_its_own_hours_is_called_only_inside_them(self):
        campaign = running(weekday_hours={"sat": ["14:00", "18:00"]})
        assert claimed_numbers(campaign, SATURDAY + timedelta(hours=12)) == []  # 13:00 London
        assert claimed_numbers(campaign, SATURDAY + timedelta(hours=13, minutes=30)) == ["+12025550111"]

    def test_a_closed_weekday_is_not_called_and_the_other_days_keep_the_daily_window(self):
        sunday_noon = SATURDAY + timedelta(days=1, hours=12)
        closed = running(weekday_hours={"sun": []})
        assert claimed_numbers(closed, sunday_noon) == []
        assert claimed_numbers(closed, THURSDAY_NOON) == ["+12025550111"]

    def test_a_weekdays_hours_cannot_reach_past_the_national_rule(self):
        campaign = running(weekday_hours={"sat": ["06:00", "23:30"]})
        assert claimed_numbers(campaign, SATURDAY + timedelta(hours=6, minutes=30)) == []  # 07:30 London
        assert claimed_numbers(campaign, SATURDAY + timedelta(hours=20, minutes=30)) == []  # 21:30 London
        assert claimed_numbers(campaign, SATURDAY + timedelta(hours=7, minutes=5)) == ["+12025550111"]


def test_a_holiday_is_a_date_in_each_callees_own_calendar():
    campaign = running([], skip_dates=["2027-07-02"])
    for phone, zone in {"+12025550111": "Asia/Tokyo", "+12025550112": "America/Los_Angeles"}.items():
        factory.lead(campaign, factory.customer(phone, timezone=zone))
    # 01:00 UTC on 2 July: 10:00 on the holiday in Tokyo, 18:00 on 1 July in Los Angeles.
    assert claimed_numbers(campaign, datetime(2027, 7, 2, 1, 0, tzinfo=UTC)) == ["+12025550112"]


class TestAttemptsPerDay:
    def called(self, campaign, at: datetime) -> Call:
        return factory.call(Lead.objects.get(), status="no-answer", dial_requested_at=at, ended_at=at)

    def test_a_contact_called_as_often_as_the_cap_today_waits_for_tomorrow(self):
        campaign = running(max_attempts_per_day=1, max_attempts=5)
        self.called(campaign, THURSDAY_NOON - timedelta(hours=5))  # 08:00 in London, today
        assert claimed_numbers(campaign, THURSDAY_NOON) == []
        assert claimed_numbers(campaign, THURSDAY_NOON + timedelta(days=1)) == ["+12025550111"]

    def test_calls_of_the_contacts_yesterday_do_not_count(self):
        campaign = running(max_attempts_per_day=1, max_attempts=5)
        self.called(campaign, THURSDAY_NOON - timedelta(hours=13, minutes=30))  # 23:30 yesterday in London
        assert claimed_numbers(campaign, THURSDAY_NOON) == ["+12025550111"]

    def test_without_a_cap_only_the_campaigns_attempts_limit_counts(self):
        campaign = running(max_attempts=5)
        for hours in (3, 2, 1):
            self.called(campaign, THURSDAY_NOON - timedelta(hours=hours))
        assert claimed_numbers(campaign, THURSDAY_NOON) == ["+12025550111"]


class TestTheLastLook:
    """Settings changed while a claimed dial waits are seen before it goes out."""

    def claimed(self, **options) -> tuple[Campaign, int]:
        campaign = make_campaign(["+12025550111"], **options)
        lifecycle.start(campaign)
        [call_id] = claim_due_leads(campaign.pk)
        return campaign, call_id

    def given_back(self, words: str) -> None:
        lead, call = Lead.objects.get(), Call.objects.get(dial_requested_at__isnull=True)
        assert lead.state == Lead.State.RETRY and words in lead.last_error
        assert call.status == Call.Status.FAILED and words in call.error_message

    def test_today_made_a_holiday_after_the_claim_is_not_dialled(self):
        campaign, call_id = self.claimed()
        today = timezone.now().astimezone(ZoneInfo(Lead.objects.get().timezone)).date()  # the callee's
        Campaign.objects.filter(pk=campaign.pk).update(skip_dates=[today.isoformat()])
        place_call(call_id)
        self.given_back("calling window closed")

    def test_a_cap_lowered_after_the_claim_is_seen(self):
        campaign, call_id = self.claimed(max_attempts_per_day=2, max_attempts=5)
        factory.call(Lead.objects.get(), status="no-answer", dial_requested_at=timezone.now())
        Campaign.objects.filter(pk=campaign.pk).update(max_attempts_per_day=1)
        place_call(call_id)
        self.given_back("calls today reached the campaign's daily limit (1)")
