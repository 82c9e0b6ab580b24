"""The campaign's timeline: every move, who made it and why, on the campaign page; and the
settings the circuit breaker and the compliance rules read, checked on the campaign form."""

import pytest

from campaigns import lifecycle
from campaigns.models import Campaign, CampaignEvent
from tests import factory

pytestmark = pytest.mark.django_db

SETTINGS = {
    "name": "Winter promo", "voice_stack": "lite", "greeting_template": "Hi",
    "window_start": "09:00", "window_end": "18:00", "default_timezone": "UTC",
    "max_concurrent_calls": "1", "max_attempts": "1", "ring_timeout_seconds": "20",
    "breaker_enabled": "on", "breaker_threshold_percent": "50", "breaker_window_seconds": "120",
    "breaker_min_calls": "5",
}


def timeline(client, campaign) -> list[tuple[str, str]]:
    page = client.get(f"/campaigns/{campaign.pk}/")
    return [(e.kind, e.who) for e in page.context["timeline"]]


def test_it_shows_who_created_started_paused_and_resumed_the_campaign(staff_client, staff):
    staff_client.post("/campaigns/new/", {**SETTINGS, "caller_id": "+12025550100"})
    campaign = Campaign.objects.get(name="Winter promo")
    factory.lead(campaign)
    staff_client.post(f"/campaigns/{campaign.pk}/start/")
    staff_client.post(f"/campaigns/{campaign.pk}/pause/", {"reason": "Lunch break"})
    staff_client.post(f"/campaigns/{campaign.pk}/resume/")

    assert timeline(staff_client, campaign) == [
        ("created", "alice"), ("started", "alice"), ("paused", "alice"), ("resumed", "alice")]
    html = staff_client.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert "<strong>Paused</strong> by alice: Lunch break" in html
    assert CampaignEvent.objects.get(kind="paused").user == staff


def test_it_names_the_end_time_and_the_dialer_when_they_complete_a_campaign(staff_client):
    by_end_date = factory.campaign(status=Campaign.Status.RUNNING)
    lifecycle.complete_at_end_date(by_end_date)
    all_called = factory.campaign(status=Campaign.Status.RUNNING)
    lifecycle.complete_if_finished(all_called)

    assert timeline(staff_client, by_end_date) == [("completed", "the schedule")]
    assert "The campaign&#x27;s end date was reached." in staff_client.get(
        f"/campaigns/{by_end_date.pk}/").content.decode()
    assert timeline(staff_client, all_called) == [("completed", "the dialer")]


def test_a_move_that_did_not_happen_leaves_no_event(staff_client):
    campaign = factory.campaign()  # a draft: nothing to pause
    with pytest.raises(lifecycle.TransitionError):
        lifecycle.pause(campaign, "Lunch")
    assert not CampaignEvent.objects.exists()


def test_a_pause_by_the_circuit_breaker_links_to_the_failing_calls(staff_client):
    campaign = factory.campaign(status=Campaign.Status.RUNNING)
    failed = [factory.call(factory.lead(campaign), status="failed") for _ in range(2)]
    lifecycle.pause(campaign, "Paused by the circuit breaker: 2 of the 2 calls failed.",
                    by=lifecycle.By.BREAKER, call_ids=[call.pk for call in failed])

    html = staff_client.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert "<strong>Paused</strong> by the circuit breaker: Paused by the circuit breaker" in html
    for call in failed:
        assert f'href="/calls/{call.pk}/"' in html


def test_it_refuses_breaker_settings_out_of_range_and_names_the_field(staff_client):
    response = staff_client.post("/campaigns/new/", {
        **SETTINGS, "breaker_threshold_percent": "101", "breaker_window_seconds": "5",
        "breaker_min_calls": "0"})
    form = response.context["form"]
    assert set(form.errors) == {"breaker_threshold_percent", "breaker_window_seconds", "breaker_min_calls"}
    assert not Campaign.objects.exists()


def test_empty_breaker_numbers_take_the_defaults(staff_client):
    staff_client.post("/campaigns/new/", {**SETTINGS, "breaker_threshold_percent": "",
                                          "breaker_window_seconds": "", "breaker_min_calls": ""})
    campaign = Campaign.objects.get()
    assert (campaign.breaker_threshold_percent, campaign.breaker_window_seconds,
            campaign.breaker_min_calls) == (50, 120, 5)


@pytest.mark.parametrize(("field", "value", "says"), [
    ("weekday_hours", "Funday 10:00-12:00", "is not a weekday and its hours"),
    ("weekday_hours", "Sat 14:00-10:00", "must end after they start"),
    ("weekday_hours", "Sat 10:00-25:00", "not a time of day"),
    ("skip_dates", "2026-12-25, 12/31", "“12/31” is not a date"),
    ("max_attempts_per_day", "0", "greater than or equal to 1"),
])
def test_it_refuses_compliance_settings_it_cannot_follow(staff_client, field, value, says):
    response = staff_client.post("/campaigns/new/", {**SETTINGS, field: value})
    assert says in " ".join(response.context["form"].errors[field])
    assert not Campaign.objects.exists()


def test_the_edit_form_shows_the_compliance_settings_as_they_were_typed(staff_client):
    campaign = factory.campaign(weekday_hours={"sun": [], "sat": ["10:00", "14:00"]},
                                skip_dates=["2026-12-25"])
    html = staff_client.get(f"/campaigns/{campaign.pk}/edit/").content.decode()
    assert "Sat 10:00-14:00\nSun closed</textarea>" in html
    assert "2026-12-25</textarea>" in html
    assert "You are speaking with an automated AI assistant." in html  # on by default
