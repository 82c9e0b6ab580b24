"""Webhook endpoints through the API: the secret shown once, reading, changing, removing,
rotation, the delivery log and redelivery."""

import pytest

from campaigns.models import Campaign
from campaigns.webhooks import outbox
from campaigns.webhooks.models import Attempt, Delivery, Endpoint

pytestmark = pytest.mark.django_db
CRM = "https://93.184.215.14/hooks/dialer"  # a public address: nothing is resolved or sent here


def test_an_endpoint_is_made_with_its_secret_shown_once(api):
    response = api.post("/api/v1/webhooks/", {"url": CRM, "events": ["call.ended", "lead.completed"]})
    assert response.status_code == 201, response.content
    made = response.json()
    endpoint = Endpoint.objects.get(pk=made["id"])
    assert made["secret"] == endpoint.secret and made["secret"].startswith("whsec_")
    assert made["campaign"] is None  # every campaign's events
    shown = api.get(f"/api/v1/webhooks/{made['id']}/").json()
    assert "secret" not in shown and shown["events"] == ["call.ended", "lead.completed"]
    assert api.delete(f"/api/v1/webhooks/{made['id']}/").status_code == 204
    assert api.get(f"/api/v1/webhooks/{made['id']}/").status_code == 404


def test_an_endpoint_for_one_campaign(api):
    campaign = Campaign.objects.create(name="Summer sale")
    made = api.post(
        "/api/v1/webhooks/", {"url": CRM, "events": ["call.ended"], "campaign": campaign.pk}
    ).json()
    assert Endpoint.objects.get(pk=made["id"]).campaign == campaign


@pytest.mark.parametrize(
    ("body", "field", "problem"),
    [
        ({"url": "http://127.0.0.1:8000/hook", "events": ["call.ended"]}, "url", "addresses are refused"),
        ({"url": "http://169.254.169.254/latest", "events": ["call.ended"]}, "url", "addresses are refused"),
        ({"url": "http://10.0.0.5/hook", "events": ["call.ended"]}, "url", "addresses are refused"),
        ({"url": "ftp://example.com/x", "events": ["call.ended"]}, "url", "must start with https://"),
        ({"url": CRM, "events": ["call.exploded"]}, "events.0", '"call.exploded" is not a valid choice.'),
        ({"url": CRM, "events": []}, "events", "This list may not be empty."),
    ],
)
def test_bad_endpoints_are_refused_naming_the_field(api, body, field, problem):
    response = api.post("/api/v1/webhooks/", body)
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["field"] == field and problem in error["detail"]
    assert not Endpoint.objects.exists()


def test_rotating_the_secret_keeps_the_old_one_for_a_day(api):
    made = api.post("/api/v1/webhooks/", {"url": CRM, "events": ["call.ended"]}).json()
    rotated = api.post(f"/api/v1/webhooks/{made['id']}/rotate-secret/").json()
    endpoint = Endpoint.objects.get()
    assert rotated["secret"] == endpoint.secret != made["secret"]
    assert endpoint.previous_secret == made["secret"]
    assert len(endpoint.signing_secrets(endpoint.created_at)) == 2


def test_the_delivery_log_and_redelivery(api):
    made = api.post("/api/v1/webhooks/", {"url": CRM, "events": ["lead.completed"]}).json()
    event = outbox.emit("lead.completed", {"lead": {"id": 1}})
    delivery = Delivery.objects.get()
    Attempt.objects.create(
        delivery=delivery,
        started_at=delivery.created_at,
        status_code=500,
        response_ms=12,
        response_excerpt="oops",
    )
    Delivery.objects.update(state=Delivery.State.FAILED, attempts=11, last_status_code=500)
    log = api.get(f"/api/v1/webhooks/{made['id']}/deliveries/").json()["results"]
    assert [(d["event_id"], d["event_type"], d["state"]) for d in log] == [
        (event.id, "lead.completed", "failed")
    ]
    assert log[0]["log"][0] | {"started_at": None} == {
        "started_at": None,
        "status_code": 500,
        "response_ms": 12,
        "response_excerpt": "oops",
        "error": "",
    }
    again = api.post(f"/api/v1/webhooks/{made['id']}/deliveries/{delivery.pk}/redeliver/")
    assert again.status_code == 202 and again.json()["state"] == "pending" and again.json()["attempts"] == 0


def test_a_disabled_endpoint_enabled_again_starts_afresh(api):
    endpoint = Endpoint.objects.create(
        url=CRM, events=["call.ended"], enabled=False, disabled_reason="Failing"
    )
    body = api.patch(f"/api/v1/webhooks/{endpoint.pk}/", {"enabled": True}).json()
    assert body["enabled"] is True and body["disabled_reason"] == ""
