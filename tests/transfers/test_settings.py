"""A campaign's hand-off settings: set on the campaign form (errors name what is wrong) and
the API, and the agents' hours read in their own time zone."""

from datetime import UTC, datetime

import pytest

from campaigns.models import Campaign
from tests import factory

pytestmark = pytest.mark.django_db

SETTINGS = {
    "name": "Winter promo", "voice_stack": "lite", "caller_id": "+12025550100",
    "window_start": "09:00", "window_end": "18:00", "default_timezone": "UTC",
    "max_concurrent_calls": "1", "max_attempts": "1", "ring_timeout_seconds": "20",
}
HAND_OFF = {
    "transfer_targets": "+1 202 555 0181\n+12025550182", "transfer_order": "round_robin",
    "transfer_mode": "warm", "agent_timezone": "Europe/Paris", "agent_hours": "Mon 09:00-17:00\nSat closed",
    "agent_ring_timeout_secs": "30", "transfer_unanswered": "end_call_with_callback",
}


def test_staff_set_the_hand_off_on_the_campaign_form(staff_client):
    response = staff_client.post("/campaigns/new/", {**SETTINGS, **HAND_OFF})

    assert response.status_code == 302
    campaign = Campaign.objects.get(name="Winter promo")
    assert campaign.transfer_targets == ["+12025550181", "+12025550182"]
    assert (campaign.transfer_order, campaign.transfer_mode, campaign.agent_timezone) == (
        "round_robin", "warm", "Europe/Paris")
    assert campaign.agent_hours == {"mon": ["09:00", "17:00"], "sat": []}
    assert (campaign.agent_ring_timeout_secs, campaign.transfer_unanswered) == (30, "end_call_with_callback")
    page = staff_client.get(f"/campaigns/{campaign.pk}/edit/").content.decode()
    assert "+12025550181\n+12025550182" in page and "Mon 09:00-17:00" in page


def test_a_form_without_the_hand_off_fields_keeps_the_defaults(staff_client):
    staff_client.post("/campaigns/new/", SETTINGS)

    campaign = Campaign.objects.get(name="Winter promo")
    assert (campaign.transfer_targets, campaign.transfer_order, campaign.transfer_mode) == (
        [], "in_order", "cold")
    assert (campaign.agent_ring_timeout_secs, campaign.transfer_unanswered) == (20, "offer_callback")


@pytest.mark.parametrize(("field", "value", "error"), [
    ("transfer_targets", "+12025550181\n555-CALL-NOW",
     "Target 2: '555-CALL-NOW' is not a valid phone number"),
    ("transfer_targets", "+12025550181, +1202", "Target 2: '+1202' is not a valid phone number"),
    ("agent_hours", "Mon 17:00-09:00", "“mon 17:00-09:00”: the hours must end after they start."),
    ("agent_hours", "Someday 9-5", "“someday 9-5” is not a weekday and its hours"),
    ("agent_ring_timeout_secs", "3", "greater than or equal to 5"),
    ("agent_ring_timeout_secs", "121", "less than or equal to 120"),
    ("agent_timezone", "Mars/Olympus", "Select a valid choice"),
])
def test_a_bad_setting_is_refused_naming_what_is_wrong(staff_client, field, value, error):
    response = staff_client.post("/campaigns/new/", {**SETTINGS, **HAND_OFF, field: value})

    assert response.status_code == 200
    assert any(error in message for message in response.context["form"].errors[field])
    assert not Campaign.objects.exists()


def test_the_api_takes_the_hand_off_settings(staff):
    from rest_framework.test import APIClient

    from calls.models import ApiToken

    _, token = ApiToken.issue("CRM", scopes=["read", "write"])
    api = APIClient(HTTP_AUTHORIZATION=f"Bearer {token}")
    campaign = factory.campaign()

    response = api.patch(f"/api/v1/campaigns/{campaign.pk}/", {
        "transfer_targets": ["+12025550181"], "transfer_mode": "warm",
        "agent_hours": {"mon": ["09:00", "17:00"]}}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["transfer_targets"] == ["+12025550181"]
    campaign.refresh_from_db()
    assert (campaign.transfer_targets, campaign.transfer_mode, campaign.agent_hours) == (
        ["+12025550181"], "warm", {"mon": ["09:00", "17:00"]})

    refused = api.patch(f"/api/v1/campaigns/{campaign.pk}/", {"transfer_targets": ["nope"]}, format="json")
    assert refused.status_code == 400, refused.json()
    assert refused.json()["errors"] == [{"field": "transfer_targets", "detail": (
        "Target 1: 'nope' is not a valid phone number (add a +country code or choose a default country).")}]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_agents_take_calls_in_their_hours_in_their_zone():
    # Paris is UTC+1 in December: Monday 09:00-17:00 there is 08:00-16:00 UTC.
    campaign = factory.campaign(agent_timezone="Europe/Paris", agent_hours={"mon": ["09:00", "17:00"]})
    assert not campaign.agents_available(at("2026-12-07T07:59:00+00:00"))
    assert campaign.agents_available(at("2026-12-07T08:00:00+00:00"))
    assert not campaign.agents_available(at("2026-12-07T16:00:00+00:00"))
    assert not campaign.agents_available(at("2026-12-08T10:00:00+00:00"))  # Tuesday: not named, no agents


def test_agents_open_at_names_the_next_opening():
    campaign = factory.campaign(agent_timezone="Europe/Paris", agent_hours={"mon": ["09:00", "17:00"]})
    monday_morning = at("2026-12-07T06:00:00+00:00")
    assert campaign.agents_open_at(monday_morning) == at("2026-12-07T08:00:00+00:00")
    assert campaign.agents_open_at(at("2026-12-07T17:00:00+00:00")) == at("2026-12-14T08:00:00+00:00")
    open_now = at("2026-12-07T09:00:00+00:00")
    assert campaign.agents_open_at(open_now) == open_now


def test_without_agent_hours_agents_take_calls_at_any_time_and_with_all_days_closed_never():
    always = factory.campaign()
    assert always.agents_available(datetime.now(UTC))
    never = factory.campaign(agent_hours={"mon": [], "sun": []})
    assert not never.agents_available(datetime.now(UTC))
    assert never.agents_open_at(datetime.now(UTC)) is None


def test_the_agent_zone_defaults_to_the_campaigns():
    campaign = factory.campaign(default_timezone="America/Chicago", agent_hours={"mon": ["09:00", "10:00"]})
    assert campaign.agents_available(at("2026-12-07T15:30:00+00:00"))  # 09:30 in Chicago
