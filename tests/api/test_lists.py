"""The do-not-call list and contact imports from a script."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from campaigns.imports import service as contact_import
from campaigns.models import Campaign, ContactImport, DoNotCall, Lead

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def test_a_number_is_added_checked_and_removed(api):
    added = api.post(
        "/api/v1/do-not-call/", {"phone": "(202) 555-0111", "country": "US", "reason": "Asked by email"}
    )
    assert added.status_code == 201
    assert added.json() | {"created_at": None} == {
        "phone": "+12025550111",
        "reason": "Asked by email",
        "source": "api",
        "created_at": None,
    }
    assert api.post("/api/v1/do-not-call/", {"phone": "+12025550111"}).status_code == 200  # already on it
    check = api.get("/api/v1/do-not-call/+12025550111/").json()
    assert check["on_list"] is True and check["entry"]["reason"] == "Asked by email"
    assert api.delete("/api/v1/do-not-call/+12025550111/").status_code == 204
    assert api.get("/api/v1/do-not-call/+12025550111/").json() == {
        "phone": "+12025550111",
        "on_list": False,
        "entry": None,
    }
    assert api.delete("/api/v1/do-not-call/+12025550111/").status_code == 404
    assert not DoNotCall.objects.exists()


def test_a_bad_number_is_a_problem_naming_the_phone(api):
    response = api.post("/api/v1/do-not-call/", {"phone": "12"})
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "phone"


def test_an_uploaded_file_is_imported_and_reports_what_it_rejected(api):
    campaign = Campaign.objects.create(name="Summer sale")
    upload = SimpleUploadedFile(
        "list.csv", b"phone,first_name,plan\n+12025550111,Ann,gold\nnope,Bob,silver\n"
    )
    response = api.client.post("/api/v1/imports/", {"file": upload, "campaign": campaign.pk})
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["status"] == "queued" and created["mapping"]["phone"] == 0
    contact_import.run_import(created["id"])  # what the worker does with the queued import
    progress = api.get(f"/api/v1/imports/{created['id']}/").json()
    assert (progress["status"], progress["percent_done"], progress["imported"], progress["invalid"]) == (
        "done",
        100,
        1,
        1,
    )
    report = api.get(f"/api/v1/imports/{created['id']}/report/").json()
    assert report["results"] == [
        {
            "line": 3,
            "reason": "'nope' is not a valid phone number for US",
            "values": ["nope", "Bob", "silver"],
        }
    ]
    assert Lead.objects.get().parameters == {"plan": "gold"}


def test_a_file_that_is_not_a_contact_list_is_refused(api):
    upload = SimpleUploadedFile("list.csv", b"")
    response = api.client.post("/api/v1/imports/", {"file": upload})
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "file"
    assert not ContactImport.objects.exists()
