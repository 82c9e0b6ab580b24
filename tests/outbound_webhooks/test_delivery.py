"""Webhooks reaching a real receiver process: signed as Standard Webhooks says, retried
with the same id until answered, nothing lost when a worker dies, private networks refused."""

import json
import os
import signal
import subprocess
import sys
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone
from standardwebhooks import Webhook

from campaigns.webhooks import delivery
from campaigns.webhooks.models import Delivery, Endpoint
from dialer_site.celery import app
from tests.outbound_webhooks.conftest import ROOT, end_call, subscribe
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def verified(receiver_request: dict, secret: str) -> dict:
    """What a receiver does with any Standard Webhooks library: raises if the signature is wrong."""
    return Webhook(secret).verify(receiver_request["body"], receiver_request["headers"])


def delivered(pk: int) -> Delivery | None:
    found = Delivery.objects.get(pk=pk)
    return found if found.state == Delivery.State.DELIVERED else None


def test_a_finished_call_reaches_the_crm_signed_with_its_outcome_and_transcript(
    receiver_factory, lead, worker
):
    crm = receiver_factory("200")
    endpoint = subscribe(crm.url, "call.ended")
    call = end_call(lead)
    [request] = wait_until(crm.requests)
    body = verified(request, endpoint.secret)
    assert body["type"] == "call.ended"
    assert body["data"]["call"] | {"transcript": None} == body["data"]["call"] | {
        "id": call.pk,
        "call_sid": call.call_sid,
        "status": "completed",
        "outcome": "completed",
        "duration_seconds": 42,
        "transcript": None,
    }
    assert body["data"]["lead"]["variables"] == {"plan": "gold"}
    assert request["headers"]["webhook-id"].startswith("msg_")
    sent = wait_until(lambda: delivered(Delivery.objects.get().pk))
    assert sent.attempts == 1 and sent.last_status_code == 200


def test_a_receiver_failing_twice_gets_the_same_webhook_id_three_times(
    receiver_factory, lead, worker, settings
):
    settings.WEBHOOK_RETRY_SECONDS = [1, 1, 1]
    crm = receiver_factory("500", "500", "200")
    endpoint = subscribe(crm.url, "call.ended")
    end_call(lead)
    requests = wait_until(lambda: len(crm.requests()) == 3 and crm.requests())
    assert len({r["headers"]["webhook-id"] for r in requests}) == 1
    assert len({r["body"] for r in requests}) == 1
    for request in requests:  # each attempt is signed afresh (its own timestamp)
        verified(request, endpoint.secret)
    sent = wait_until(lambda: delivered(Delivery.objects.get().pk))
    assert [a.status_code for a in sent.log.all()] == [500, 500, 200]
    assert sent.log.last().response_excerpt == "answer 3: 200"
    endpoint.refresh_from_db()
    assert endpoint.failing_since is None


def test_the_delivery_log_records_failures_and_the_schedule_backs_off(
    receiver_factory, lead, worker, settings
):
    settings.WEBHOOK_RETRY_SECONDS = [1, 3600]
    crm = receiver_factory("503")
    subscribe(crm.url, "call.ended")
    end_call(lead)
    pending = wait_until(lambda: Delivery.objects.filter(attempts=2).first())
    assert pending.state == Delivery.State.PENDING and pending.last_status_code == 503
    assert pending.next_attempt_at > timezone.now() + timedelta(minutes=59)
    assert [a.status_code for a in pending.log.all()] == [503, 503]
    assert Endpoint.objects.get().failing_since is not None


def _database_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def test_a_worker_killed_mid_delivery_loses_nothing(receiver_factory, lead, worker_factory):
    crm = receiver_factory("hang", "200")
    endpoint = subscribe(crm.url, "call.ended")
    app.control.purge()
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "dialer_site",
            "worker",
            "--pool",
            "solo",
            "--queues",
            settings.CELERY_TASK_DEFAULT_QUEUE,
            "--loglevel",
            "WARNING",
            "--without-heartbeat",
            "--without-mingle",
            "--without-gossip",
        ],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": _database_url(), "WEBHOOK_ALLOW_PRIVATE_ADDRESSES": "true"},
    )
    try:
        end_call(lead)
        wait_until(crm.requests, timeout=60)  # the worker is inside the POST
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait()
    finally:
        worker.kill()
    stuck = Delivery.objects.get()
    assert stuck.state == Delivery.State.PENDING and stuck.attempts == 0
    # The lease the dead worker held runs out; the periodic sweep hands the delivery over again.
    Delivery.objects.update(next_attempt_at=timezone.now() - timedelta(minutes=2))
    with worker_factory():
        assert delivery.sweep() == 1
        sent = wait_until(lambda: delivered(stuck.pk))
    requests = crm.requests()
    assert len(requests) == 2 and len({r["headers"]["webhook-id"] for r in requests}) == 1
    assert verified(requests[1], endpoint.secret)["type"] == "call.ended"
    assert sent.attempts == 1


def test_an_event_whose_message_was_lost_is_found_by_the_sweep(receiver_factory, lead, worker_factory):
    crm = receiver_factory("200")
    subscribe(crm.url, "call.ended")
    end_call(lead)
    app.control.purge()  # as if Redis had lost the message (restarted without persistence)
    assert Delivery.objects.get().state == Delivery.State.PENDING
    with worker_factory():
        assert delivery.sweep(now=timezone.now() + timedelta(minutes=2)) == 1
        wait_until(lambda: delivered(Delivery.objects.get().pk))
    assert len(crm.requests()) == 1


def test_a_private_address_is_refused_when_saved_and_when_connecting(
    receiver_factory, lead, settings, client, staff
):
    crm = receiver_factory("200")
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    client.force_login(staff)
    staff.is_superuser = True
    staff.save()
    response = client.post("/admin/webhooks/endpoint/add/", {"url": crm.url, "events": ["call.ended"]})
    assert b"127.0.0.1: loopback, private and link-local addresses are refused" in response.content
    assert not Endpoint.objects.exists()
    # A name that pointed elsewhere when it was saved and resolves to loopback now (DNS rebinding).
    subscribe(crm.url.replace("127.0.0.1", "localhost"), "call.ended")
    end_call(lead)
    attempt = delivery.attempt(Delivery.objects.get().pk)
    assert attempt.status_code is None and "addresses are refused" in attempt.error
    assert crm.requests() == []


def test_after_a_rotation_both_secrets_verify_for_24_hours(receiver_factory, lead, worker):
    crm = receiver_factory("200")
    endpoint = subscribe(crm.url, "call.ended")
    old_secret = endpoint.secret
    new_secret = endpoint.rotate_secret()
    assert new_secret != old_secret and new_secret.startswith("whsec_")
    end_call(lead)
    [request] = wait_until(crm.requests)
    assert verified(request, old_secret) == verified(request, new_secret)

    Endpoint.objects.update(previous_secret_expires_at=timezone.now() - timedelta(seconds=1))
    end_call(lead, sid="CA" + "2" * 32)
    request = wait_until(lambda: len(crm.requests()) == 2 and crm.requests()[1])
    verified(request, new_secret)
    with pytest.raises(Exception, match="No matching signature"):
        verified(request, old_secret)
    assert json.loads(request["body"])["data"]["call"]["call_sid"] == "CA" + "2" * 32


def test_an_endpoint_failing_for_days_is_disabled_with_a_notice_on_the_dashboard(
    lead, staff_client, settings
):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
    endpoint = subscribe("http://127.0.0.1:9/closed", "call.ended", "lead.completed")
    Endpoint.objects.update(failing_since=timezone.now() - timedelta(days=6))
    end_call(lead)
    first, second = Delivery.objects.order_by("pk")
    attempt = delivery.attempt(first.pk)
    assert attempt.status_code is None and "refused" in attempt.error.lower()
    endpoint.refresh_from_db()
    assert not endpoint.enabled and "every delivery failed for 5 days" in endpoint.disabled_reason
    second.refresh_from_db()
    assert second.state == Delivery.State.FAILED  # not retried into a disabled endpoint
    page = staff_client.get("/campaigns/")
    assert b"Webhook endpoint http://127.0.0.1:9/closed is off." in page.content

    endpoint.enable()
    assert delivery.redeliver([first.pk, second.pk]) == 2
    assert Delivery.objects.filter(state=Delivery.State.PENDING).count() == 2
