"""The dial-out API: place one call now through the emulator, read it back; a request sent
again with its Idempotency-Key never dials twice; with the CPS taken the call is queued."""

import json
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from calls import idempotency, tasks
from calls.dialer import placing, reaper
from calls.dialer.pacing import account_pacer
from calls.models import ApiToken, Call, IdempotencyKey, TranscriptLine
from campaigns.models import Campaign, Customer, DoNotCall
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)
NUMBER = "+12025550111"


@pytest.fixture
def token():
    return ApiToken.issue("CRM")[1]


def post(client, body, token=None, key=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if key:
        headers["Idempotency-Key"] = key
    return client.post("/api/v1/calls/", json.dumps(body), content_type="application/json", headers=headers)


def dials(emulator, number=NUMBER) -> int:
    return sum(1 for placed in emulator.calls() if placed["to"] == number)


@pytest.fixture
def cps_taken(settings, clean_pacer):
    """One call every two seconds, and this second's token already spent."""
    settings.TWILIO_CALLS_PER_SECOND = 0.5
    assert account_pacer().try_take() == 0


def test_it_places_a_call_now_and_answers_with_its_ids(client, emulator, token):
    Campaign.objects.create(name="Summer sale", slug="summer_sale", caller_id="+12025550100")
    response = post(client, {"to": "+12025550111", "campaign": "summer_sale",
                             "parameters": {"plan": "gold"}}, token)
    assert response.status_code == 201, response.content
    body = response.json()
    call = Call.objects.get(pk=body["id"])
    assert body["call_sid"] == call.call_sid and call.call_sid.startswith("CA")
    assert call.parameters["plan"] == "gold" and call.parameters["campaign_id"] == "summer_sale"
    placed = emulator.get_call(call.call_sid)
    assert placed["to"] == "+12025550111" and placed["from"] == "+12025550100"


def test_it_reads_a_call_back_with_its_transcript(client, token):
    call = Call.objects.create(direction="outbound", call_sid="CA" + "d" * 32, status="completed",
                               disposition="interested", summary="Wants the gold plan.")
    TranscriptLine.objects.create(call=call, speaker="bot", text="Hello!", offset_ms=100)
    TranscriptLine.objects.create(call=call, speaker="caller", text="Yes please.", offset_ms=900)
    body = client.get(f"/api/v1/calls/{call.pk}/", headers={"Authorization": f"Bearer {token}"}).json()
    assert body["status"] == "completed" and body["outcome"] == "interested"
    assert [line["text"] for line in body["transcript"]] == ["Hello!", "Yes please."]


@pytest.mark.parametrize(("body", "problem"), [
    ({"to": "555-12", "from": "+12025550100"}, "'555-12' is not a valid phone number"),
    ({"to": "+12025550111", "campaign": "nope", "from": "+12025550100"}, "no campaign 'nope'"),
    ({"to": "+12025550111"}, "which number to call from"),
    ({"to": "+12025550111", "from": "+12025550100", "parameters": {"bad name": "x"}}, "bad name"),
])
def test_bad_requests_are_refused_naming_the_problem(client, token, body, problem):
    response = post(client, body, token)
    assert response.status_code == 400
    assert problem in response.json()["error"]
    assert not Call.objects.exists()


def test_a_number_on_the_do_not_call_list_is_not_called(client, token):
    DoNotCall.objects.create(phone="+12025550111")
    response = post(client, {"to": "+12025550111", "from": "+12025550100"}, token)
    assert response.status_code == 409
    assert not Call.objects.exists() and not Customer.objects.exists()


ONE_CALL = {"to": NUMBER, "from": "+12025550100"}


def test_with_the_cps_taken_the_call_is_queued_and_placed_once_a_token_is_free(
        client, emulator, worker, token, cps_taken):
    response = post(client, ONE_CALL, token, key="crm-order-1")
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "queued" and body["call_sid"] is None
    assert dials(emulator) == 0

    # The client timed out and sends the same request again: the same call, still queued.
    again = post(client, ONE_CALL, token, key="crm-order-1")
    assert again.status_code == 202 and again.json()["id"] == body["id"]
    assert again["Idempotent-Replayed"] == "true"

    call = wait_until(lambda: Call.objects.filter(pk=body["id"]).exclude(call_sid=None).first())
    assert emulator.get_call(call.call_sid)["to"] == NUMBER
    placed = post(client, ONE_CALL, token, key="crm-order-1")
    assert placed.status_code == 201 and placed.json()["call_sid"] == call.call_sid
    assert dials(emulator) == 1 and Call.objects.count() == 1


def test_a_request_sent_again_with_its_key_returns_the_same_call_and_dials_nothing_new(
        client, emulator, token):
    first = post(client, ONE_CALL, token, key="crm-order-2")
    assert first.status_code == 201
    second = post(client, ONE_CALL, token, key="crm-order-2")
    assert second.status_code == 201 and second.json() == first.json()
    assert dials(emulator) == 1 and Call.objects.count() == 1
    # Another key is another call (queued: the second's token is not free yet).
    assert post(client, ONE_CALL, token, key="crm-order-3").json()["id"] != first.json()["id"]
    assert Call.objects.count() == 2


def test_the_same_key_with_a_different_body_is_refused(client, emulator, token):
    assert post(client, ONE_CALL, token, key="crm-order-4").status_code == 201
    response = post(client, {**ONE_CALL, "to": "+12025550112"}, token, key="crm-order-4")
    assert response.status_code == 422
    assert "different request" in response.json()["error"]
    assert Call.objects.count() == 1 and dials(emulator, "+12025550112") == 0


def test_keys_belong_to_their_token(client, emulator, token):
    other = ApiToken.issue("Billing")[1]
    first = post(client, ONE_CALL, token, key="order-1").json()
    assert post(client, ONE_CALL, other, key="order-1").json()["id"] != first["id"]


def test_two_copies_of_a_request_at_the_same_moment_make_one_call(emulator, token):
    answers, barrier = [], threading.Barrier(3)

    def send():
        barrier.wait()
        answers.append(post(Client(), ONE_CALL, token, key="crm-order-5"))
        connection.close()

    threads = [threading.Thread(target=send) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {answer.status_code for answer in answers} <= {201, 202}
    assert len({answer.json()["id"] for answer in answers}) == 1
    assert Call.objects.count() == 1 and dials(emulator) == 1


def test_a_key_is_kept_for_a_day_then_forgotten(client, emulator, token):
    first = post(client, ONE_CALL, token, key="crm-order-6").json()
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=24, minutes=1))
    second = post(client, ONE_CALL, token, key="crm-order-6").json()
    assert second["id"] != first["id"] and Call.objects.count() == 2
    IdempotencyKey.objects.filter(call_id=second["id"]).update(created_at=timezone.now() - timedelta(days=2))
    post(client, ONE_CALL, token, key="crm-order-7")
    assert idempotency.forget_expired() == 1
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["crm-order-7"]


def test_a_queued_call_whose_number_goes_on_the_list_is_never_placed(client, token, cps_taken):
    queued = post(client, ONE_CALL, token, key="crm-order-8").json()
    DoNotCall.objects.create(phone=NUMBER)
    placing.place_call(queued["id"])  # the worker's turn: refused at the last look
    again = post(client, ONE_CALL, token, key="crm-order-8")
    assert again.status_code == 409 and "do-not-call list" in again.json()["error"]
    assert Call.objects.get().dial_requested_at is None


def test_with_redis_down_the_call_is_queued_not_an_error_and_the_reaper_places_it(
        client, emulator, worker, token, settings):
    redis_url = settings.REDIS_URL
    settings.REDIS_URL = "redis://127.0.0.1:9/0"  # nothing listens: the pacer cannot answer
    response = post(client, ONE_CALL, token)
    assert response.status_code == 202 and response.json()["status"] == "queued"
    assert dials(emulator) == 0
    settings.REDIS_URL = redis_url
    tasks.send_again(reaper.reap(timezone.now() + reaper.UNKNOWN_DIAL_GRACE + timedelta(seconds=5)))
    wait_until(lambda: Call.objects.exclude(call_sid=None).exists())
    assert dials(emulator) == 1


@pytest.mark.parametrize("header", [None, "Bearer wrong", "Basic abc"])
def test_it_needs_a_valid_token(client, header):
    headers = {"Authorization": header} if header else {}
    response = client.post("/api/v1/calls/", "{}", content_type="application/json", headers=headers)
    assert response.status_code == 401
    assert client.get("/api/v1/calls/1/", headers=headers).status_code == 401


def test_a_revoked_token_no_longer_works(client, token):
    ApiToken.objects.update(revoked=True)
    assert post(client, {"to": "+12025550111"}, token).status_code == 401


def test_only_the_tokens_hash_is_stored(token):
    stored = ApiToken.objects.get()
    assert token not in (stored.token_hash, stored.prefix) and stored.token_hash == ApiToken.digest(token)
