"""The import runs in a real Celery worker (real Redis) and the progress shows it."""

import time

import pytest
from celery.contrib.testing.worker import start_worker

from campaigns.models import ContactImport, Lead
from dialer_site.celery import app
from tests.imports.conftest import csv_file

ROWS = "phone,first_name,plan\n" + "".join(f"+1202555{n:04d},N{n},p{n}\n" for n in range(1, 501))


@pytest.mark.django_db(transaction=True)
def test_a_confirmed_import_runs_in_the_worker_and_reports_progress(staff_client, campaign):
    staff_client.post("/imports/", {"file": csv_file(ROWS), "campaign": campaign.pk})
    contact_import = ContactImport.objects.get()
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        staff_client.post(f"/imports/{contact_import.pk}/mapping/", {
            "phone": "0", "first_name": "1", "default_country": "US", "existing": "update",
            "duplicates": "first",
        })
        deadline = time.monotonic() + 30
        url = f"/imports/{contact_import.pk}/progress.json"
        while not (progress := staff_client.get(url).json())["finished"]:
            assert time.monotonic() < deadline, progress
            time.sleep(0.2)
    assert progress["status"] == "done"
    assert (progress["rows_done"], progress["total_rows"], progress["imported"]) == (500, 500, 500)
    assert Lead.objects.filter(campaign=campaign).count() == 500
    assert Lead.objects.get(customer__phone="+12025550007").parameters == {"plan": "p7"}
