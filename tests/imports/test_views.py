"""The staff pages: upload, preview and mapping, progress, report, downloads."""

import pytest

from campaigns.models import Campaign, ContactImport, Lead
from tests.imports.conftest import csv_file, import_now

pytestmark = pytest.mark.django_db

FILE = "Mobile;Vorname;surname;E-mail;tz;Plan\n202-555-0101;Ann;Lee;ann@example.com;;gold\n"


@pytest.fixture
def done():
    return import_now("phone\n+12025550101\n555-12\n")


@pytest.fixture
def urls(done, campaign):
    return ["/imports/", f"/imports/{done.pk}/", f"/imports/{done.pk}/progress.json",
            f"/imports/{done.pk}/rejected.csv", f"/campaigns/{campaign.pk}/export.csv"]


def test_it_sends_anonymous_visitors_to_log_in(client, urls):
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/accounts/login/"), url


def test_it_refuses_signed_in_non_staff(client, stranger, urls):
    client.force_login(stranger)
    for url in urls:
        assert client.get(url).status_code == 403, url


def test_it_serves_staff(staff_client, urls):
    for url in urls:
        assert staff_client.get(url).status_code == 200, url


def test_an_upload_leads_to_the_preview_with_the_guessed_mapping(staff_client, staff, campaign):
    response = staff_client.post("/imports/", {"file": csv_file(FILE, "crm.csv"), "campaign": campaign.pk})
    contact_import = ContactImport.objects.get()
    assert response["Location"] == f"/imports/{contact_import.pk}/mapping/"
    assert (contact_import.campaign, contact_import.created_by) == (campaign, staff)

    page = staff_client.get(response["Location"]).content.decode()
    assert "202-555-0101" in page and "semicolon-separated" in page
    assert '<option value="0" selected>Mobile</option>' in page
    assert '<option value="1" selected>Vorname</option>' in page
    assert '<option value="2" selected>surname</option>' in page
    assert '<option value="3" selected>E-mail</option>' in page
    assert '<option value="4" selected>tz</option>' in page


def test_confirming_the_mapping_queues_the_import(staff_client, campaign):
    staff_client.post("/imports/", {"file": csv_file(FILE), "campaign": campaign.pk})
    contact_import = ContactImport.objects.get()
    response = staff_client.post(f"/imports/{contact_import.pk}/mapping/", {
        "phone": "0", "first_name": "1", "last_name": "2", "email": "", "timezone": "",
        "ignore": ["5"], "default_country": "US", "existing": "keep", "duplicates": "last",
    })
    assert response["Location"] == f"/imports/{contact_import.pk}/"
    contact_import.refresh_from_db()
    assert contact_import.status == ContactImport.Status.QUEUED
    assert contact_import.mapping == {"phone": 0, "first_name": 1, "last_name": 2, "ignore": [5]}
    assert (contact_import.existing, contact_import.duplicates) == ("keep", "last")
    mapping_again = staff_client.get(f"/imports/{contact_import.pk}/mapping/")
    assert mapping_again["Location"] == f"/imports/{contact_import.pk}/"


def test_the_mapping_needs_a_phone_column_and_one_field_per_column(staff_client):
    staff_client.post("/imports/", {"file": csv_file(FILE)})
    contact_import = ContactImport.objects.get()
    options = {"default_country": "US", "existing": "update", "duplicates": "first"}
    page = staff_client.post(f"/imports/{contact_import.pk}/mapping/", {"phone": "", **options}).content
    assert b"This field is required" in page
    page = staff_client.post(f"/imports/{contact_import.pk}/mapping/",
                             {"phone": "0", "first_name": "0", **options}).content
    assert b"Each column can feed only one field." in page
    contact_import.refresh_from_db()
    assert contact_import.status == ContactImport.Status.PENDING


def test_an_upload_over_the_size_limit_gets_a_clear_message(staff_client, settings):
    settings.CONTACT_UPLOAD_MAX_BYTES = 1024
    response = staff_client.post("/imports/", {"file": csv_file("phone\n" + "+12025550101\n" * 200)})
    assert response.status_code == 200
    assert "The file is 2.5\xa0KB; the limit is 1.0\xa0KB." in response.content.decode()
    assert not ContactImport.objects.exists()


def test_a_binary_upload_is_refused_and_nothing_is_stored(staff_client, media):
    workbook = csv_file(b"PK\x03\x04" + bytes(range(256)), "list.xlsx")
    response = staff_client.post("/imports/", {"file": workbook})
    assert b"This file is an Excel workbook (.xlsx) or a zip archive, not a CSV file." in response.content
    assert not ContactImport.objects.exists()
    assert not (media.exists() and any(media.rglob("*.*")))


def test_the_report_lists_buckets_and_rejected_rows(staff_client, done):
    page = staff_client.get(f"/imports/{done.pk}/").content.decode()
    assert "line 3: &#x27;555-12&#x27; is not a valid phone number for US" in page
    assert f'href="/imports/{done.pk}/rejected.csv"' in page
    assert staff_client.get("/imports/").content.decode().count(f'href="/imports/{done.pk}/"') == 1


def test_the_progress_endpoint_reports_rows_done_of_total(staff_client, done):
    progress = staff_client.get(f"/imports/{done.pk}/progress.json").json()
    assert progress == {
        "status": "done", "status_label": "Done", "finished": True, "rows_done": 2, "total_rows": 2,
        "percent": 100, "imported": 1, "updated": 0, "kept": 0, "duplicate": 0, "do_not_call": 0,
        "invalid": 1,
    }


def test_the_rejected_rows_download_is_a_csv_attachment(staff_client, done):
    response = staff_client.get(f"/imports/{done.pk}/rejected.csv")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="contacts-rejected.csv"'
    assert b"".join(response.streaming_content).decode().splitlines() == [
        "phone,Rejected on line,Rejected because", "555-12,3,'555-12' is not a valid phone number for US",
    ]


def test_the_export_of_an_unknown_campaign_is_404(staff_client):
    assert staff_client.get("/campaigns/999/export.csv").status_code == 404
    assert not Campaign.objects.exists() and not Lead.objects.exists()
