"""Caller-ID pools through the Twilio emulator: a campaign calls from the account's numbers
(IncomingPhoneNumbers, listed through the twilio package), each dial from a number with the
callee's area code if one is free, else one in their country, the least recently used first,
never past the daily cap per number — also when dials run at the same moment. A number Twilio
refuses as caller ID leaves the pool with the reason on the campaign page and the campaign
goes on with the others; people calling any pool number back reach the campaign, which
knows them."""

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from calls.dialer.claiming import claim_due_leads
from calls.dialer.placing import place_call
from calls.models import Call
from calls.twilio_client import account_numbers
from campaigns import caller_ids, lifecycle
from campaigns.models import CallerNumber, Campaign, Lead
from tests import factory
from tests.dialer.conftest import make_campaign

pytestmark = pytest.mark.django_db(transaction=True)

WASHINGTON, CHICAGO_1, CHICAGO_2 = "+12025550100", "+13125550100", "+13125550101"
SAN_FRANCISCO = "+14155550100"
CALLEES = {"Chicago A": "+13125550111", "Chicago B": "+13125550112", "Chicago C": "+13125550113",
           "Washington D": "+12025550114", "Boston E": "+16175550115"}


@pytest.fixture
def numbers(emulator):
    """The account's four numbers, in the order Twilio lists them."""
    for number, name in [(WASHINGTON, "Washington"), (CHICAGO_1, "Chicago 1"), (CHICAGO_2, "Chicago 2"),
                         (SAN_FRANCISCO, "San Francisco")]:
        emulator.set_number(number, friendly_name=name)
    return emulator


def pooled_campaign(callees: list[str] | None = None, **options) -> Campaign:
    campaign = make_campaign(callees or list(CALLEES.values()), **options)
    caller_ids.set_pool(campaign, account_numbers())
    lifecycle.start(campaign)
    return campaign


def dialled_from(emulator, call: Call) -> str:
    """The From of the call's REST request, as the emulator's timeline shows it."""
    entries = emulator.get_call(call.call_sid)["timeline"]["entries"]
    return next(e["params"]["From"] for e in entries if e["kind"] == "rest_create")


def test_each_dial_comes_from_a_local_number_then_the_least_used_within_the_daily_cap(numbers):
    campaign = pooled_campaign(caller_id_daily_cap=1)
    pool = campaign.caller_numbers.order_by("pk")
    assert list(pool.values_list("phone_number", "country", "area_code")) == [
        (WASHINGTON, "US", "202"), (CHICAGO_1, "US", "312"), (CHICAGO_2, "US", "312"),
        (SAN_FRANCISCO, "US", "415")]

    for call_id in claim_due_leads(campaign.pk):
        place_call(call_id)

    calls = {call.to_number: call for call in Call.objects.all()}
    placed = {name: dialled_from(numbers, calls[number]) for name, number in CALLEES.items()
              if calls[number].call_sid}
    assert placed == {
        "Chicago A": CHICAGO_1,  # local, neither Chicago number used yet: the first
        "Chicago B": CHICAGO_2,  # local, the one not used yet
        "Chicago C": WASHINGTON,  # both Chicago numbers at their cap: one in the country
        "Washington D": SAN_FRANCISCO,  # the local one is at its cap
    }
    assert {call.to_number: call.from_number for call in calls.values() if call.call_sid} == {
        CALLEES[name]: number for name, number in placed.items()}
    # Every number has placed its one call today: Boston waits for tomorrow, not called.
    boston = Lead.objects.get(customer__phone=CALLEES["Boston E"])
    assert boston.state == Lead.State.RETRY and boston.attempts == 0
    assert "every caller ID of the pool has placed its 1 calls today" in boston.last_error
    assert boston.next_attempt_at >= caller_ids.next_day(campaign, timezone.now())
    assert len(numbers.calls()) == 4
    assert claim_due_leads(campaign.pk) == []  # and nothing more is claimed today


def test_a_new_day_starts_every_numbers_count_again(numbers):
    campaign = pooled_campaign([CALLEES["Chicago A"]], caller_id_daily_cap=1)
    CallerNumber.objects.filter(campaign=campaign).update(
        used_on=timezone.now().date() - timedelta(days=1), used_that_day=1)

    place_call(claim_due_leads(campaign.pk)[0])

    assert dialled_from(numbers, Call.objects.get()) == CHICAGO_1
    chicago = CallerNumber.objects.get(campaign=campaign, phone_number=CHICAGO_1)
    assert (chicago.used_on, chicago.used_that_day) == (caller_ids.cap_day(campaign, timezone.now()), 1)


def test_dials_at_the_same_moment_never_share_a_capped_number(numbers):
    callees = [f"+1312555{n:04d}" for n in range(201, 207)]
    campaign = pooled_campaign(callees, caller_id_daily_cap=1, max_concurrent_calls=10)
    call_ids = claim_due_leads(campaign.pk)
    start = threading.Barrier(len(call_ids))

    def dial(call_id):
        try:
            start.wait()
            place_call(call_id)
        finally:
            connection.close()

    threads = [threading.Thread(target=dial, args=(call_id,)) for call_id in call_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    froms = [call["from"] for call in numbers.calls()]
    assert sorted(froms) == sorted([WASHINGTON, CHICAGO_1, CHICAGO_2, SAN_FRANCISCO])  # each once
    assert Call.objects.filter(call_sid__isnull=False).count() == 4
    assert Lead.objects.filter(state=Lead.State.RETRY, attempts=0).count() == 2  # for tomorrow
    assert set(CallerNumber.objects.values_list("used_that_day", flat=True)) == {1}


def test_a_refused_caller_id_leaves_the_pool_and_the_campaign_goes_on(numbers, staff_client):
    numbers.set_number(CHICAGO_1, friendly_name="Chicago 1", refuse_caller_id=21210)
    campaign = pooled_campaign([CALLEES["Chicago A"], CALLEES["Chicago B"]])

    for call_id in claim_due_leads(campaign.pk):
        place_call(call_id)

    refused = CallerNumber.objects.get(campaign=campaign, phone_number=CHICAGO_1)
    assert refused.refused_at is not None
    assert refused.refused_reason == ("The caller ID is not a verified number of this Twilio account. "
                                      "(Twilio error 21210)")
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.RUNNING
    first = Call.objects.get(from_number=CHICAGO_1)
    assert (first.status, first.error_code) == (Call.Status.FAILED, "21210")
    given_back = first.lead
    given_back.refresh_from_db()
    assert given_back.state == Lead.State.RETRY and given_back.attempts == 0
    assert "it left the pool" in given_back.last_error
    # The other Chicago lead went out from the other Chicago number; the one given back goes
    # out from it too, once due.
    assert [c["from"] for c in numbers.calls()] == [CHICAGO_2]
    Lead.objects.filter(pk=given_back.pk).update(next_attempt_at=timezone.now())
    place_call(claim_due_leads(campaign.pk)[0])
    assert Call.objects.filter(lead=given_back, call_sid__isnull=False).get().from_number == CHICAGO_2

    page = staff_client.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert "The caller ID is not a verified number of this Twilio account. (Twilio error 21210)" in page
    assert page.count("In rotation") == 3


def test_when_every_pool_number_is_refused_the_campaign_pauses_and_says_why(numbers):
    for number in (WASHINGTON, CHICAGO_1, CHICAGO_2, SAN_FRANCISCO):
        numbers.set_number(number, refuse_caller_id=21212)
    campaign = pooled_campaign([CALLEES["Chicago A"]])

    for _ in range(4):  # each attempt meets one more refused number
        Lead.objects.update(next_attempt_at=timezone.now())
        for call_id in claim_due_leads(campaign.pk):
            place_call(call_id)

    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.PAUSED
    assert campaign.status_reason.startswith("Twilio refused every number of the caller-ID pool")
    assert not CallerNumber.objects.in_rotation().exists()
    assert not numbers.calls()


def test_a_callback_to_any_pool_number_reaches_the_campaign_which_knows_the_caller(numbers):
    campaign = pooled_campaign([CALLEES["Chicago A"]])
    later = make_campaign([], name="Winter promo", caller_id="+12025550999")
    factory.lead(later, customer=Lead.objects.get().customer)  # a more recent campaign of theirs

    sid = numbers.call_in(CALLEES["Chicago A"], CHICAGO_2, script="Hello?")

    deadline = time.monotonic() + 10
    while not Call.objects.filter(call_sid=sid, campaign__isnull=False).exists():
        assert time.monotonic() < deadline, "the inbound call was never routed"
        time.sleep(0.1)
    call = Call.objects.select_related("customer").get(call_sid=sid)
    assert (call.direction, call.campaign_id) == (Call.Direction.INBOUND, campaign.pk)
    assert call.to_number == CHICAGO_2
    assert call.customer.phone == CALLEES["Chicago A"] and call.lead.campaign_id == campaign.pk
    assert call.parameters["callback"] == "true" and call.parameters["customer_name"] == "Pat"


def test_the_campaign_form_lists_the_accounts_numbers_and_saves_the_pool(numbers, staff_client):
    campaign = make_campaign([])
    page = staff_client.get(f"/campaigns/{campaign.pk}/edit/")
    assert [value for value, _ in page.context["form"].fields["caller_id_pool"].choices] == [
        WASHINGTON, CHICAGO_1, CHICAGO_2, SAN_FRANCISCO]

    form = page.context["form"]
    data = {name: form[name].value() for name in form.fields if form[name].value() is not None}
    data |= {"caller_id_pool": [CHICAGO_1, SAN_FRANCISCO], "caller_id_daily_cap": "40",
             "retry_delays_minutes": "1", "window_start": "00:00", "window_end": "23:59"}
    data.pop("answering_machine_detection")
    response = staff_client.post(f"/campaigns/{campaign.pk}/edit/", data)

    assert response.status_code == 302, response.context["form"].errors
    campaign.refresh_from_db()
    assert campaign.caller_id_daily_cap == 40
    assert list(campaign.caller_numbers.values_list("phone_number", "friendly_name")) == [
        (CHICAGO_1, "Chicago 1"), (SAN_FRANCISCO, "San Francisco")]


def test_a_refused_number_can_be_put_back_into_the_rotation(staff_client):
    campaign = make_campaign([])
    refused = CallerNumber.objects.create(campaign=campaign, phone_number=CHICAGO_1,
                                          refused_at=timezone.now(), refused_reason="Twilio error 21210")

    response = staff_client.post(f"/campaigns/{campaign.pk}/caller-ids/{refused.pk}/reinstate/")

    assert response["Location"] == f"/campaigns/{campaign.pk}/"
    refused.refresh_from_db()
    assert (refused.refused_at, refused.refused_reason) == (None, "")
    other = make_campaign([], name="Winter promo")
    assert staff_client.post(f"/campaigns/{other.pk}/caller-ids/{refused.pk}/reinstate/").status_code == 404


def test_without_twilio_the_form_says_so_and_keeps_the_pools_own_numbers(staff_client):
    campaign = make_campaign([])  # TWILIO_API_BASE_URL leads nowhere in the tests
    CallerNumber.objects.create(campaign=campaign, phone_number=CHICAGO_1, friendly_name="Chicago 1")

    page = staff_client.get(f"/campaigns/{campaign.pk}/edit/")

    assert "Could not fetch the Twilio account&#x27;s numbers" in page.content.decode()
    form = page.context["form"]
    assert form.fields["caller_id_pool"].choices == [(CHICAGO_1, f"{CHICAGO_1} Chicago 1")]
    assert form.initial["caller_id_pool"] == [CHICAGO_1]
