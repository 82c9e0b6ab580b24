"""Reading calls back: filtered lists a page at a time, one call in full, its recording."""

import pytest
from django.core.files.base import ContentFile

from calls.models import ApiToken, Call, CallEvent, TranscriptLine
from campaigns.models import Campaign
from tests.api.conftest import Api

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def calls(n, **fields):
    return [Call.objects.create(direction="outbound", call_sid=f"CA{i:032d}", **fields) for i in range(n)]


def test_it_lists_calls_newest_first_a_page_at_a_time(api):
    made = calls(5, status="completed")
    page = api.get("/api/v1/calls/", {"page_size": 2}).json()
    assert [c["id"] for c in page["results"]] == [made[4].pk, made[3].pk]
    seen = [c["id"] for c in page["results"]]
    while page["next"]:
        page = api.get(page["next"]).json()
        seen += [c["id"] for c in page["results"]]
    assert seen == [c.pk for c in reversed(made)]


def test_it_filters_by_campaign_status_and_outcome(api):
    summer = Campaign.objects.create(name="Summer sale")
    [wanted] = calls(1, campaign=summer, status="completed", disposition="interested")
    Call.objects.create(direction="outbound", campaign=summer, status="busy", disposition="busy")
    Call.objects.create(direction="outbound", status="completed", disposition="interested")
    page = api.get("/api/v1/calls/", {"campaign": summer.pk, "outcome": "interested"}).json()
    assert [c["id"] for c in page["results"]] == [wanted.pk]
    assert page["results"][0]["campaign"] == str(summer.pk)


def test_a_bad_filter_is_a_problem_naming_it(api):
    response = api.get("/api/v1/calls/", {"status": "exploded"})
    assert response.status_code == 400
    assert response.json()["errors"] == [{"field": "status", "detail": '"exploded" is not a valid choice.'}]


def test_one_call_comes_with_transcript_outcome_summary_and_events(api):
    [call] = calls(
        1, status="completed", disposition="interested", summary="Wants gold.", duration_seconds=42
    )
    TranscriptLine.objects.create(call=call, speaker="bot", text="Hello!", offset_ms=100)
    CallEvent.objects.create(call=call, call_status="ringing", sequence_number=1, params={})
    CallEvent.objects.create(call=call, call_status="completed", sequence_number=3, params={})
    body = api.get(f"/api/v1/calls/{call.pk}/").json()
    assert (body["outcome"], body["summary"], body["duration_seconds"]) == ("interested", "Wants gold.", 42)
    assert body["transcript"] == [{"speaker": "bot", "text": "Hello!", "offset_ms": 100}]
    assert [e["status"] for e in body["events"]] == ["ringing", "completed"]
    assert api.get("/api/v1/calls/999999/").json()["detail"] == "There is no call 999999."


def test_the_recording_downloads_with_a_token(api):
    [call] = calls(1, status="completed")
    call.recording.save("call.wav", ContentFile(b"RIFF....WAVE"), save=True)
    response = api.get(f"/api/v1/calls/{call.pk}/recording/")
    assert response.status_code == 200 and b"".join(response.streaming_content) == b"RIFF....WAVE"
    Call.objects.update(recording="")
    assert api.get(f"/api/v1/calls/{call.pk}/recording/").status_code == 404


def test_without_a_token_it_asks_for_one(client):
    response = client.get("/api/v1/calls/")
    assert response.status_code == 401 and response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert response.json()["detail"] == "Send an API token: 'Authorization: Bearer <token>'."


def test_a_read_only_token_cannot_place_calls(reader):
    response = reader.post("/api/v1/calls/", {"to": "+12025550111"})
    assert response.status_code == 403 and "'calls' scope" in response.json()["detail"]


def test_too_many_requests_for_one_token_get_429_with_retry_after(settings):
    settings.API_RATE_LIMIT = "3/minute"
    busy, other = Api(ApiToken.issue("Busy")[1]), Api(ApiToken.issue("Other")[1])
    assert [busy.get("/api/v1/calls/").status_code for _ in range(3)] == [200, 200, 200]
    refused = busy.get("/api/v1/calls/")
    assert refused.status_code == 429 and 0 < int(refused["Retry-After"]) <= 60
    assert refused.json()["title"] == "Too Many Requests"
    assert other.get("/api/v1/calls/").status_code == 200  # counted per token
