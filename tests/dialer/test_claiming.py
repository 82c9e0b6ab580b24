"""Which leads a dispatch claims: due, in their own calling window, not on do-not-call,
within the campaign's limits — and never the same lead twice."""

import threading
from datetime import UTC, datetime, time, timedelta

import pytest
from django.db import connection

from calls.dialer.claiming import claim_due_leads
from calls.models import Call
from campaigns.models import Campaign, Lead
from tests import factory
from tests.dialer.conftest import make_campaign as dialer_campaign
from tests.web_processes import forget_all, web_process

pytestmark = pytest.mark.django_db

NOON_UTC = datetime(2027, 7, 1, 12, 0, tzinfo=UTC)


def make_campaign(numbers, **options):
    # 12:00 UTC in July is 13:00 in London: inside every window these tests use.
    return dialer_campaign(numbers, zone="Europe/London", **options)


def running(campaign):
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.RUNNING)
    return campaign


def claimed_numbers(campaign, now=NOON_UTC):
    return sorted(Call.objects.get(pk=pk).to_number for pk in claim_due_leads(campaign.pk, now))


def test_it_claims_due_leads_and_creates_their_calls_first():
    campaign = running(make_campaign(["+12025550111", "+12025550112"]))
    call_ids = claim_due_leads(campaign.pk, NOON_UTC)
    assert len(call_ids) == 2
    for lead in Lead.objects.all():
        assert lead.state == Lead.State.DIALING and lead.attempts == 1
        call = lead.calls.get()
        assert call.call_sid is None and call.attempt == 1 and call.status == "queued"
        assert call.parameters["plan"] == "gold" and call.parameters["customer_id"] == str(lead.customer_id)
        assert call.parameters["call_type"] == "outbound"


def test_it_keeps_to_the_campaigns_concurrency():
    campaign = running(make_campaign([f"+120255501{n:02d}" for n in range(10, 20)],
                                     max_concurrent_calls=3))
    assert len(claim_due_leads(campaign.pk, NOON_UTC)) == 3
    assert claim_due_leads(campaign.pk, NOON_UTC) == []  # three calls are live


def test_a_live_test_call_holds_none_of_the_campaigns_concurrency():
    campaign = running(make_campaign(["+12025550111", "+12025550112"], max_concurrent_calls=1))
    for kind in (Call.Test.PHONE, Call.Test.BROWSER):  # a staff member trying the bot, both ways
        factory.call(campaign=campaign, test=kind, status="in-progress", to_number="+12025550177")
    assert len(claim_due_leads(campaign.pk, NOON_UTC)) == 1  # the campaign's one slot is its own
    assert claim_due_leads(campaign.pk, NOON_UTC) == []


def test_a_paused_campaign_claims_nothing():
    campaign = make_campaign(["+12025550111"], status=Campaign.Status.PAUSED)
    assert claim_due_leads(campaign.pk, NOON_UTC) == []


def test_it_skips_numbers_on_the_do_not_call_list():
    campaign = running(make_campaign(["+12025550111", "+12025550112"]))
    factory.do_not_call("+12025550112")
    assert claimed_numbers(campaign) == ["+12025550111"]


def test_it_waits_for_a_retrys_time():
    campaign = running(make_campaign(["+12025550111"]))
    Lead.objects.update(state=Lead.State.RETRY, attempts=1, next_attempt_at=NOON_UTC + timedelta(minutes=5))
    assert claimed_numbers(campaign) == []
    assert claimed_numbers(campaign, NOON_UTC + timedelta(minutes=5)) == ["+12025550111"]


def test_it_stops_at_the_maximum_attempts_but_honours_a_requested_callback():
    campaign = running(make_campaign(["+12025550111", "+12025550112"], max_attempts=2))
    Lead.objects.update(state=Lead.State.RETRY, attempts=2, next_attempt_at=NOON_UTC)
    Lead.objects.filter(customer__phone="+12025550112").update(callback_at=NOON_UTC)
    assert claimed_numbers(campaign) == ["+12025550112"]


class TestCallingWindows:
    """09:00–20:00 in the callee's own time; never outside 08:00–21:00 whatever is set."""

    def people(self, campaign):
        zones = {"+12025550111": "America/New_York", "+12025550112": "America/Los_Angeles",
                 "+12025550113": "Europe/London", "+12025550114": "Asia/Tokyo"}
        for phone, zone in zones.items():
            factory.lead(campaign, factory.customer(phone, timezone=zone))

    def test_it_calls_each_person_only_inside_their_own_window(self):
        campaign = running(make_campaign([], window_start=time(9), window_end=time(20)))
        self.people(campaign)
        # 15:00 UTC: New York 10:00 and London 15:00 are open; LA 07:00 and Tokyo 00:00 are not.
        assert claimed_numbers(campaign, datetime(2027, 7, 1, 15, 0, tzinfo=UTC)) == [
            "+12025550111", "+12025550113"]

    def test_the_legal_hours_override_a_wider_campaign_window(self):
        campaign = running(make_campaign([], window_start=time(0), window_end=time(23, 59)))
        self.people(campaign)
        # 12:30 UTC: New York 08:30, London 13:30 open; LA 05:30 and Tokyo 21:30 are closed.
        assert claimed_numbers(campaign, datetime(2027, 7, 1, 12, 30, tzinfo=UTC)) == [
            "+12025550111", "+12025550113"]

    def test_a_night_with_every_zone_closed_reads_no_lead(self, django_assert_max_num_queries):
        campaign = running(make_campaign([f"+120255501{n:02d}" for n in range(10, 30)]))
        claim_due_leads(campaign.pk, datetime(2027, 7, 1, 3, 0, tzinfo=UTC))  # zones resolved
        with django_assert_max_num_queries(3):  # campaign, live calls, its zones: no lead scan
            assert claim_due_leads(campaign.pk, datetime(2027, 7, 1, 3, 0, tzinfo=UTC)) == []

    def test_a_zone_corrected_on_the_contact_is_followed_over_the_leads_copy(self):
        campaign = running(make_campaign([], window_start=time(9), window_end=time(20)))
        customer = factory.customer("+12025550111", timezone="Asia/Tokyo")
        # The lead still holds the zone the contact had before a re-import corrected it.
        factory.lead(campaign, customer, timezone="Europe/London")
        # 12:00 UTC: 13:00 in London (open) but 21:00 in Tokyo, where the person really is.
        assert claimed_numbers(campaign, NOON_UTC) == []
        assert Lead.objects.get().timezone == "Asia/Tokyo"

    def test_without_a_zone_on_the_contact_the_number_decides(self):
        campaign = running(make_campaign([], window_start=time(9), window_end=time(20),
                                         default_timezone="Asia/Tokyo"))
        factory.lead(campaign, factory.customer("+14155550123"))
        # 17:00 UTC is 10:00 in San Francisco (the number's zone), 02:00 in Tokyo (the default).
        assert claimed_numbers(campaign, datetime(2027, 7, 1, 17, 0, tzinfo=UTC)) == ["+14155550123"]
        assert Lead.objects.get(customer__phone="+14155550123").timezone == "America/Los_Angeles"


def test_a_scheduled_campaign_starts_when_its_time_comes():
    from campaigns.lifecycle import campaigns_to_dispatch

    campaign = make_campaign(["+12025550111"], status=Campaign.Status.SCHEDULED,
                             starts_at=datetime(2020, 1, 1, tzinfo=UTC))
    assert campaigns_to_dispatch() == [campaign.pk]
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.RUNNING


def test_a_campaign_past_its_end_date_completes():
    campaign = running(make_campaign(["+12025550111"], ends_at=NOON_UTC - timedelta(hours=1)))
    assert claim_due_leads(campaign.pk, NOON_UTC) == []
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.COMPLETED
    assert "end date" in campaign.status_reason


@pytest.mark.django_db(transaction=True)
def test_two_workers_claiming_at_once_never_share_a_lead():
    campaign = running(make_campaign([f"+120255501{n:02d}" for n in range(10, 40)],
                                     max_concurrent_calls=50))
    results, barrier = [], threading.Barrier(4)

    def claim():
        barrier.wait()
        results.append(claim_due_leads(campaign.pk, NOON_UTC))
        connection.close()

    threads = [threading.Thread(target=claim) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    claimed = [call_id for batch in results for call_id in batch]
    leads = Call.objects.filter(pk__in=claimed).values_list("lead_id", flat=True)
    assert len(set(leads)) == len(claimed) <= 30
    assert Lead.objects.filter(attempts__gt=1).count() == 0


@pytest.mark.django_db(transaction=True)
def test_dispatchers_claiming_at_once_never_exceed_the_concurrency_cap():
    campaign = running(make_campaign([f"+120255501{n:02d}" for n in range(10, 60)],
                                     max_concurrent_calls=3))

    def claim(barrier, results):
        barrier.wait()
        results.append(claim_due_leads(campaign.pk, NOON_UTC))
        connection.close()

    for _round in range(3):  # each round: six dispatch runs at once, then the calls end
        results, barrier = [], threading.Barrier(6)
        threads = [threading.Thread(target=claim, args=(barrier, results)) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sum(len(batch) for batch in results) == 3
        assert Call.objects.filter(status__in=Call.LIVE_STATUSES).count() == 3
        Call.objects.update(status=Call.Status.COMPLETED)
        Lead.objects.filter(state=Lead.State.DIALING).update(state=Lead.State.DONE)


def test_with_no_web_process_live_nothing_is_dialled_and_the_campaign_page_says_why(staff_client):
    forget_all()
    campaign = running(make_campaign(["+12025550111", "+12025550112"]))

    assert claim_due_leads(campaign.pk, NOON_UTC) == []

    assert not Call.objects.exists()
    assert Lead.objects.filter(state=Lead.State.PENDING).count() == 2
    page = staff_client.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert "No web process is live, so nothing is dialled" in page


def test_it_claims_no_more_than_the_web_processes_can_take_less_the_calls_on_their_way():
    forget_all()
    web_process("web-a", 4, calls=2)  # room for 2
    web_process("web-b", 4, calls=1)  # room for 3
    web_process("web-c", 8, draining=True)  # takes nothing new
    on_its_way = factory.call(status=Call.Status.RINGING)  # placed, no stream yet: needs one of the 5
    campaign = running(make_campaign([f"+120255501{n:02d}" for n in range(10, 20)], max_concurrent_calls=10))

    assert len(claim_due_leads(campaign.pk, NOON_UTC)) == 4
    assert claim_due_leads(campaign.pk, NOON_UTC) == []  # the 4 claimed wait for streams too

    Call.objects.filter(pk=on_its_way.pk).update(status=Call.Status.COMPLETED)
    assert len(claim_due_leads(campaign.pk, NOON_UTC)) == 1
