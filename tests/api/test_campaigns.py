"""Running a campaign from a script: create it, add leads, start it, watch its figures."""

import pytest

from campaigns.models import Campaign, Customer, DoNotCall, Lead
from dialer_site.dashboard.stats import campaign_summary

pytestmark = pytest.mark.django_db


def make(api, **fields):
    response = api.post(
        "/api/v1/campaigns/",
        {"name": "Summer sale", "slug": "summer_sale", "caller_id": "+12025550100", **fields},
    )
    assert response.status_code == 201, response.content
    return response.json()


def test_it_creates_a_campaign_with_the_dashboards_defaults(api):
    body = make(api, window_start="10:00", window_end="18:00", retry_delays_minutes=[15, 60])
    campaign = Campaign.objects.get(pk=body["id"])
    assert body["status"] == "draft" and campaign.window_start.hour == 10
    assert campaign.retry_delays_minutes == [15, 60] and campaign.max_attempts == 3
    assert "{{ first_name" in body["greeting_template"]


def test_the_dashboards_checks_apply_and_name_the_field(api):
    response = api.post(
        "/api/v1/campaigns/",
        {"name": "Bad", "window_start": "09:00", "window_end": "09:00", "greeting_template": "Hi {% if %}"},
    )
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 400 and problem["title"] == "Bad Request"
    fields = {error["field"]: error["detail"] for error in problem["errors"]}
    assert "must not start and end at the same time" in fields["window_end"]
    assert fields["greeting_template"].startswith("Template error")
    assert not Campaign.objects.exists()


def test_it_takes_the_compliance_and_breaker_settings_and_refuses_what_it_cannot_follow(api):
    body = make(api, weekday_hours={"sat": ["10:00", "14:00"], "sun": []}, skip_dates=["2026-12-25"],
                max_attempts_per_day=2, recording_notice="", breaker_threshold_percent=40)
    assert body["weekday_hours"] == {"sat": ["10:00", "14:00"], "sun": []}
    assert body["skip_dates"] == ["2026-12-25"] and body["max_attempts_per_day"] == 2
    assert (body["recording_notice"], body["breaker_threshold_percent"]) == ("", 40)
    assert body["ai_disclosure"] == "You are speaking with an automated AI assistant."  # on by default

    response = api.post("/api/v1/campaigns/", {"name": "Bad", "weekday_hours": {"sat": ["14:00", "10:00"]},
                                               "skip_dates": ["12/25"]})
    fields = {error["field"]: error["detail"] for error in response.json()["errors"]}
    assert set(fields) == {"weekday_hours", "skip_dates"}
    assert "must end after they start" in fields["weekday_hours"]
    response = api.post("/api/v1/campaigns/", {"name": "Bad", "breaker_window_seconds": 1})
    assert {error["field"] for error in response.json()["errors"]} == {"breaker_window_seconds"}
    assert Campaign.objects.count() == 1


def test_it_updates_only_what_is_sent(api):
    campaign = make(api)
    response = api.patch(f"/api/v1/campaigns/{campaign['id']}/", {"max_concurrent_calls": 2})
    assert response.status_code == 200, response.content
    assert response.json()["max_concurrent_calls"] == 2 and response.json()["name"] == "Summer sale"
    assert Campaign.objects.get().max_concurrent_calls == 2


def test_a_campaign_without_leads_cannot_start_and_says_why(api):
    campaign = make(api)
    response = api.post(f"/api/v1/campaigns/{campaign['id']}/start/")
    assert response.status_code == 409
    assert "Add at least one contact who can still be called." in response.json()["detail"]
    assert Campaign.objects.get().status == Campaign.Status.DRAFT


def test_it_adds_leads_starts_pauses_resumes_and_cancels(api):
    campaign = make(api)
    added = api.post(
        f"/api/v1/campaigns/{campaign['id']}/leads/",
        {"leads": [{"phone": "+12025550111", "first_name": "Ann", "variables": {"plan": "gold"}}]},
    )
    assert added.json() == {"added": 1, "updated": 0, "kept": 0, "rejected": []}
    url = f"/api/v1/campaigns/{campaign['id']}"
    assert api.post(f"{url}/start/").json()["status"] == "running"
    assert api.post(f"{url}/pause/", {"reason": "Lunch"}).json()["status_reason"] == "Lunch"
    assert api.post(f"{url}/pause/").status_code == 409  # already paused: the lifecycle's own error
    assert api.post(f"{url}/resume/").json()["status"] == "running"
    assert api.post(f"{url}/cancel/").json()["status"] == "cancelled"
    assert Lead.objects.get().state == Lead.State.CANCELLED


def test_stats_count_leads_by_state_and_outcome(api):
    campaign = Campaign.objects.create(name="Summer sale")
    for n, (state, outcome) in enumerate(
        [("done", "interested"), ("done", "not_interested"), ("pending", "")]
    ):
        customer = Customer.objects.create(phone=f"+1202555012{n}")
        Lead.objects.create(campaign=campaign, customer=customer, state=state, last_outcome=outcome)
    stats = api.get(f"/api/v1/campaigns/{campaign.pk}/stats/").json()
    assert stats["lead_total"] == 3 and stats["lead_done"] == 2 and stats["percent_done"] == 67
    assert stats["leads_by_state"] == {"done": 2, "pending": 1}
    assert stats["leads_by_outcome"] == {"interested": 1, "not_interested": 1}


def test_stats_match_the_dashboards_figures(api):
    campaign = Campaign.objects.create(name="Summer sale")
    for n, state in enumerate(["done", "failed", "do_not_call", "cancelled", "retry", "in_call", "pending"]):
        customer = Customer.objects.create(phone=f"+1202555013{n}")
        Lead.objects.create(campaign=campaign, customer=customer, state=state)
    stats = api.get(f"/api/v1/campaigns/{campaign.pk}/stats/").json()
    shown = campaign_summary(campaign)
    assert (stats["lead_total"], stats["lead_done"], stats["percent_done"]) == (7, 4, 57)
    assert (shown["lead_total"], shown["lead_done"], shown["percent_done"]) == (7, 4, 57)


def test_bulk_leads_are_checked_like_an_imported_file_with_one_report(api):
    campaign = Campaign.objects.create(name="Summer sale")
    DoNotCall.objects.create(phone="+12025550133")
    known = Customer.objects.create(phone="+12025550122", first_name="Old")
    Lead.objects.create(campaign=campaign, customer=known)
    response = api.post(
        f"/api/v1/campaigns/{campaign.pk}/leads/",
        {
            "leads": [
                {
                    "phone": "(202) 555-0111",
                    "first_name": "Ann",
                    "variables": {"Plan Type": "gold", "visits": 3},
                },
                {"phone": "+12025550122", "first_name": "Bea", "timezone": "america/chicago"},
                {"phone": "555-12"},
                {"phone": "+12025550133"},
                {"phone": "+1 202 555 0111"},
                {"phone": "+12025550144", "email": "not-an-email"},
                {"phone": "+12025550155", "timezone": "Mars/Olympus"},
            ]
        },
    )
    assert response.status_code == 200, response.content
    report = response.json()
    assert (report["added"], report["updated"]) == (1, 1)
    assert [(r["index"], r["reason"]) for r in report["rejected"]] == [
        (2, "'555-12' is not a valid phone number for US"),
        (3, "the number is on the do-not-call list"),
        (4, "the same number as lead 0"),
        (5, "'not-an-email' is not a valid email address"),
        (6, "'Mars/Olympus' is not a time zone name (use one like America/New_York)"),
    ]
    ann = Lead.objects.get(customer__phone="+12025550111")
    assert ann.parameters == {"plan_type": "gold", "visits": "3"}  # names made safe as a file's headers are
    known.refresh_from_db()
    assert known.first_name == "Bea" and known.timezone == "America/Chicago"


def test_more_than_ten_thousand_leads_are_refused(api):
    campaign = Campaign.objects.create(name="Summer sale")
    response = api.post(
        f"/api/v1/campaigns/{campaign.pk}/leads/", {"leads": [{"phone": "+12025550111"}] * 10_001}
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "leads"
    assert not Lead.objects.exists()


def test_a_lead_is_read_and_removed_but_not_while_it_is_called(api):
    campaign = Campaign.objects.create(name="Summer sale")
    lead = Lead.objects.create(
        campaign=campaign, customer=Customer.objects.create(phone="+12025550111"), parameters={"plan": "gold"}
    )
    body = api.get(f"/api/v1/leads/{lead.pk}/").json()
    assert body["phone"] == "+12025550111" and body["variables"] == {"plan": "gold"}
    assert [row["id"] for row in api.get(f"/api/v1/campaigns/{campaign.pk}/leads/").json()["results"]] == [
        lead.pk
    ]
    Lead.objects.update(state=Lead.State.IN_CALL)
    assert api.delete(f"/api/v1/leads/{lead.pk}/").status_code == 409
    Lead.objects.update(state=Lead.State.DONE)
    assert api.delete(f"/api/v1/leads/{lead.pk}/").status_code == 204
    assert not Lead.objects.exists() and Customer.objects.exists()


def test_a_read_only_token_cannot_change_anything(reader):
    response = reader.post("/api/v1/campaigns/", {"name": "Nope"})
    assert response.status_code == 403
    assert response.json()["detail"] == "This token does not have the 'write' scope."
    assert reader.get("/api/v1/campaigns/").status_code == 200
