"""Test calls ("Call me", "Talk in the browser") count in none of a campaign's figures, lists,
exports or webhooks; they obey the do-not-call list; only staff may make them."""

import pytest
from django.test import Client

from calls import test_calls
from calls.bot_store import DatabaseCallStore
from calls.models import ApiToken, Call
from campaigns.webhooks.models import Endpoint, Event
from dialer_site.dashboard import live_figures, stats
from tests import factory
from tests.api.conftest import Api

pytestmark = pytest.mark.django_db


@pytest.fixture
def placed(monkeypatch):
    """Dials handed to the dialer, instead of Twilio (the browser test uses the emulator)."""
    dialled = []

    def call_now(call):
        dialled.append(call)
        return call

    monkeypatch.setattr("calls.dialer.now.call_now", call_now)
    return dialled


def test_it_places_a_test_call_with_a_leads_variables_but_no_lead(staff_client, staff, campaign, placed):
    grace = factory.customer(first_name="Grace", last_name="Hopper", attributes={"plan": "gold"})
    lead = factory.lead(campaign, grace, parameters={"order": "A-17"})
    response = staff_client.post(f"/campaigns/{campaign.pk}/test-call/",
                                 {"phone": "(202) 555-0177", "lead": lead.pk}, follow=True)
    [call] = placed
    assert response.redirect_chain[-1][0] == f"/calls/{call.pk}/"
    page = response.content.decode()
    assert "Test call to +12025550177 placed" in page and "Test call to a phone" in page
    call.refresh_from_db()
    assert (call.test, call.tested_by, call.to_number, call.from_number) == (
        "phone", staff, "+12025550177", "+12025550100")
    assert (call.lead, call.customer) == (None, None)
    assert {k: call.parameters[k] for k in ("first_name", "full_name", "plan", "order", "test_call")} == {
        "first_name": "Grace", "full_name": "Grace Hopper", "plan": "gold", "order": "A-17",
        "test_call": "yes"}
    assert "customer_id" not in call.parameters
    lead.refresh_from_db()
    assert (lead.state, lead.attempts) == ("pending", 0)


def test_a_campaign_at_its_concurrency_still_takes_a_test_call(staff_client, placed):
    campaign = factory.campaign(status="running", max_concurrent_calls=1)
    factory.answer(factory.call(factory.lead(campaign, state="in_call")))  # its one slot is taken
    response = staff_client.post(f"/campaigns/{campaign.pk}/test-call/", {"phone": "+12025550177"},
                                 follow=True)
    [call] = placed
    assert response.redirect_chain[-1][0] == f"/calls/{call.pk}/"
    assert (call.test, call.to_number) == ("phone", "+12025550177")


def test_it_does_not_call_a_number_on_the_do_not_call_list(staff_client, campaign, placed):
    factory.do_not_call("+12025550177")
    response = staff_client.post(f"/campaigns/{campaign.pk}/test-call/", {"phone": "+12025550177"},
                                 follow=True)
    assert response.redirect_chain[-1][0] == f"/campaigns/{campaign.pk}/#try-bot"
    assert "+12025550177 is on the do-not-call list" in response.content.decode()
    assert (placed, Call.objects.count()) == ([], 0)


def test_it_explains_a_number_it_cannot_read(staff_client, campaign, placed):
    response = staff_client.post(f"/campaigns/{campaign.pk}/test-call/", {"phone": "12"}, follow=True)
    assert "Not called: &#x27;12&#x27; is not a valid phone number for US" in response.content.decode()
    assert not Call.objects.exists()


def test_it_takes_no_lead_of_another_campaign(staff_client, campaign, placed):
    other = factory.lead(factory.campaign(name="Other"))
    response = staff_client.post(f"/campaigns/{campaign.pk}/test-call/",
                                 {"phone": "+12025550177", "lead": other.pk}, follow=True)
    assert "That lead is not in this campaign." in response.content.decode()
    assert not Call.objects.exists()


def test_only_staff_place_test_calls_and_only_with_the_csrf_token(client, stranger, staff, campaign, placed):
    url = f"/campaigns/{campaign.pk}/test-call/"
    assert client.post(url, {"phone": "+12025550177"})["Location"].startswith("/accounts/login/")
    client.force_login(stranger)
    assert client.post(url, {"phone": "+12025550177"}).status_code == 403
    guarded = Client(enforce_csrf_checks=True)
    guarded.force_login(staff)
    assert guarded.post(url, {"phone": "+12025550177"}).status_code == 403
    assert guarded.get(url).status_code == 405
    assert placed == []


def test_a_test_call_counts_in_no_figure_list_or_webhook(staff_client, campaign):
    lead = factory.lead(campaign, state="in_call", attempts=1)
    real = factory.answer(factory.call(lead))
    test = factory.answer(factory.call(campaign=campaign, test="phone", to_number="+12025550177"))
    browser = factory.call(campaign=campaign, test="browser", status="completed")
    assert stats.campaign_summary(campaign)["live_calls"] == 1
    assert [c.pk for c in stats.live_calls(campaign)] == [real.pk]
    assert stats.calls_per_hour(campaign)["total_calls"] == 1
    assert [c.pk for c in live_figures.recent_calls(campaign)] == [real.pk]
    listed = staff_client.get("/calls/").context["page"].rows
    assert [c.pk for c in listed] == [real.pk]
    tests_listed = staff_client.get("/calls/", {"test": "yes"}).context["page"].rows
    assert {c.pk for c in tests_listed} == {test.pk, browser.pk}
    api = Api(ApiToken.issue("CRM")[1])
    assert [c["id"] for c in api.get("/api/v1/calls/").json()["results"]] == [real.pk]
    assert api.get(f"/api/v1/campaigns/{campaign.pk}/stats/").json()["live_calls"] == 1
    # The campaign page lists the tests apart, under "Try the bot".
    page = staff_client.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert "test call to a phone +12025550177, in progress" in page
    assert "test in the browser, completed" in page


def test_a_test_call_sends_no_webhook(campaign):
    Endpoint.objects.create(url="https://crm.example.com/hooks", events=["call.started"])
    real = factory.outbound_call(campaign, factory.customer())
    test = factory.call(campaign=campaign, test="phone", to_number="+12025550177", call_sid=None)
    store = DatabaseCallStore()
    store.link_call("CA" + "1" * 32, "MZ" + "1" * 32, {"call_id": str(real.pk)})
    store.link_call("CA" + "2" * 32, "MZ" + "2" * 32, {"call_id": str(test.pk)})
    assert [e.subject for e in Event.objects.all()] == [f"call:{real.pk}"]


def test_a_test_call_to_a_leads_number_is_still_not_that_leads(campaign):
    lead = factory.lead(campaign, state="pending")
    call = factory.call(campaign=campaign, test="phone", to_number=lead.customer.phone, call_sid=None,
                        parameters=test_calls.variables(campaign, None))
    context = DatabaseCallStore().link_call("CA" + "7" * 32, "MZ" + "7" * 32, {"call_id": str(call.pk)})
    call.refresh_from_db()
    assert (call.lead, call.customer, context.lead_id, context.customer) == (None, None, None, {})
    assert context.phone == lead.customer.phone  # what a "don't call me" would put on the list
    assert (context.campaign_id, call.status) == (campaign.pk, "in-progress")


def test_a_browser_session_ends_with_its_socket(staff, campaign):
    call = test_calls.browser_session(campaign, None, staff)
    assert (call.test, call.call_sid[:2], call.status, call.to_number) == ("browser", "BT", "queued", "")
    call.status = "in-progress"
    call.save(update_fields=["status"])
    test_calls.end_browser_session(call.pk)
    call.refresh_from_db()
    assert call.status == "completed" and call.ended_at and call.duration_seconds is not None
