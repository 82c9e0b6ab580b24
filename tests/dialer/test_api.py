"""The dial-out API: place one call now through the emulator, read it back."""

import json

import pytest

from calls.models import ApiToken, Call, TranscriptLine
from campaigns.models import Campaign, DoNotCall

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def token():
    return ApiToken.issue("CRM")[1]


def post(client, body, token=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.post("/api/v1/calls/", json.dumps(body), content_type="application/json", headers=headers)


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
    assert not Call.objects.exists()


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
