"""Start / pause / resume / cancel: each changes exactly the state it names."""

import pytest

from campaigns.models import Campaign, Lead
from tests import factory

pytestmark = pytest.mark.django_db


def snapshot(campaign):
    campaign.refresh_from_db()
    fields = {f.name: getattr(campaign, f.name) for f in Campaign._meta.concrete_fields}
    return {k: v for k, v in fields.items() if k not in ("status", "status_reason", "updated_at")}


@pytest.fixture
def ready(campaign):
    """A draft campaign that can start: caller ID set and a contact to call."""
    factory.lead(campaign)
    return campaign


def test_it_starts_a_draft_campaign(staff_client, ready):
    before = snapshot(ready)
    response = staff_client.post(f"/campaigns/{ready.pk}/start/", follow=True)
    assert response.redirect_chain[-1][0] == f"/campaigns/{ready.pk}/"
    assert "Campaign is now running." in response.content.decode()
    ready.refresh_from_db()
    assert ready.status == "running"
    assert snapshot(ready) == before
    assert list(ready.leads.values_list("state", flat=True)) == ["pending"]


def test_it_explains_why_a_campaign_cannot_start(staff_client, campaign):
    response = staff_client.post(f"/campaigns/{campaign.pk}/start/", follow=True)
    assert "Add at least one contact who can still be called." in response.content.decode()
    campaign.refresh_from_db()
    assert campaign.status == "draft"


def test_it_pauses_a_running_campaign_and_nothing_else(staff_client, ready):
    Campaign.objects.filter(pk=ready.pk).update(status="running")
    before = snapshot(ready)
    staff_client.post(f"/campaigns/{ready.pk}/pause/", {"reason": "Client asked"})
    ready.refresh_from_db()
    assert ready.status == "paused"
    assert ready.status_reason == "Client asked"
    assert snapshot(ready) == before
    assert list(ready.leads.values_list("state", flat=True)) == ["pending"]


def test_it_names_who_paused_when_no_reason_is_given(staff_client, ready):
    Campaign.objects.filter(pk=ready.pk).update(status="running")
    staff_client.post(f"/campaigns/{ready.pk}/pause/")
    ready.refresh_from_db()
    assert ready.status_reason == "Paused by alice."


def test_it_resumes_a_paused_campaign(staff_client, ready):
    Campaign.objects.filter(pk=ready.pk).update(status="paused", status_reason="Lunch")
    before = snapshot(ready)
    staff_client.post(f"/campaigns/{ready.pk}/resume/")
    ready.refresh_from_db()
    assert ready.status == "running"
    assert snapshot(ready) == before


def test_it_cancels_a_campaign_and_its_uncalled_leads_only(staff_client, ready):
    Campaign.objects.filter(pk=ready.pk).update(status="running")
    done = factory.lead(ready, state="done", last_outcome="interested")
    in_call = factory.lead(ready, state="in_call")
    before = snapshot(ready)
    staff_client.post(f"/campaigns/{ready.pk}/cancel/")
    ready.refresh_from_db()
    assert ready.status == "cancelled"
    assert snapshot(ready) == before
    states = dict(ready.leads.values_list("pk", "state"))
    assert states[done.pk] == "done" and states[in_call.pk] == "in_call"
    assert list(ready.leads.filter(state=Lead.State.CANCELLED).values_list("pk", flat=True)) == [
        ready.leads.order_by("pk").first().pk
    ]


def test_it_refuses_a_move_the_status_does_not_allow(staff_client, ready):
    response = staff_client.post(f"/campaigns/{ready.pk}/resume/", follow=True)
    assert "A draft campaign cannot become running." in response.content.decode()
    ready.refresh_from_db()
    assert ready.status == "draft"


@pytest.mark.parametrize("action", ["start", "pause", "resume", "cancel"])
def test_the_controls_only_take_post(staff_client, ready, action):
    assert staff_client.get(f"/campaigns/{ready.pk}/{action}/").status_code == 405
    ready.refresh_from_db()
    assert ready.status == "draft"


@pytest.mark.parametrize("action", ["start", "pause", "resume", "cancel"])
def test_the_controls_refuse_strangers(client, stranger, ready, action):
    client.force_login(stranger)
    assert client.post(f"/campaigns/{ready.pk}/{action}/").status_code == 403
    ready.refresh_from_db()
    assert ready.status == "draft"


def test_it_creates_a_campaign_with_every_setting(staff_client):
    """Every setting but the bot's words, which the script editor edits (test_script_editor)."""
    response = staff_client.post("/campaigns/new/", {
        "name": "Winter promo", "slug": "winter_promo", "caller_id": "+12025550100", "voice_stack": "natural",
        "system_prompt_template": "Be brief.", "voicemail_message": "Call us back.",
        "answering_machine_detection": "", "starts_at": "", "ends_at": "",
        "window_start": "10:00", "window_end": "18:30", "default_timezone": "Europe/Berlin",
        "max_concurrent_calls": "3", "max_attempts": "4", "retry_delays_minutes": "15, 60",
        "ring_timeout_seconds": "25", "weekday_hours": "Sat 10:00-14:00\nsunday closed",
        "skip_dates": "2026-12-25, 2026-12-24", "max_attempts_per_day": "2", "ai_disclosure": "",
        "recording_notice": "Calls are recorded.", "breaker_enabled": "on", "breaker_threshold_percent": "40",
        "breaker_window_seconds": "300", "breaker_min_calls": "8",
    })
    campaign = Campaign.objects.get(name="Winter promo")
    assert response["Location"] == f"/campaigns/{campaign.pk}/"
    assert campaign.answering_machine_detection is False
    assert campaign.system_prompt_template == "Be brief."
    assert campaign.retry_delays_minutes == [15, 60]
    assert str(campaign.window_end) == "18:30:00"
    assert (campaign.default_timezone, campaign.max_attempts) == ("Europe/Berlin", 4)
    assert (campaign.status, campaign.voice_stack) == ("draft", "natural")
    assert campaign.weekday_hours == {"sat": ["10:00", "14:00"], "sun": []}
    assert campaign.skip_dates == ["2026-12-24", "2026-12-25"]
    assert (campaign.max_attempts_per_day, campaign.ai_disclosure, campaign.recording_notice) == (
        2, "", "Calls are recorded.")
    assert (campaign.breaker_enabled, campaign.breaker_threshold_percent, campaign.breaker_window_seconds,
            campaign.breaker_min_calls) == (True, 40, 300, 8)


def test_it_still_takes_the_lite_stacks_old_name(staff_client):
    """"local" was the lite stack's name before the natural stack came beside it."""
    response = staff_client.post("/campaigns/new/", {
        "name": "Old form", "voice_stack": "local",
        "window_start": "09:00", "window_end": "18:00", "default_timezone": "UTC",
        "max_concurrent_calls": "1", "max_attempts": "1", "ring_timeout_seconds": "20",
    })
    assert response.status_code == 302, response.context["form"].errors
    campaign = Campaign.objects.get(name="Old form")
    assert response["Location"] == f"/campaigns/{campaign.pk}/"
    assert campaign.voice_stack == "lite"


def test_it_rejects_a_broken_prompt_template_and_bad_settings(staff_client, campaign):
    response = staff_client.post(f"/campaigns/{campaign.pk}/edit/", {
        "name": "Summer sale", "voice_stack": "local",
        "system_prompt_template": "Hi {% if first_name %}there",
        "window_start": "09:00", "window_end": "09:00",
        "default_timezone": "UTC", "max_concurrent_calls": "5", "max_attempts": "3",
        "retry_delays_minutes": "30, x", "ring_timeout_seconds": "30",
    })
    assert response.status_code == 200
    form = response.context["form"]
    assert set(form.errors) >= {"system_prompt_template", "window_end", "retry_delays_minutes"}
    campaign.refresh_from_db()
    assert campaign.system_prompt_template == ""


def test_it_shows_the_saved_settings_in_the_edit_form(staff_client, campaign):
    html = staff_client.get(f"/campaigns/{campaign.pk}/edit/").content.decode()
    assert 'value="30, 120, 1440"' in html
    assert 'name="answering_machine_detection"' in html and "checked" in html
