"""A worker killed half-way: the import resumes after its last committed batch, or shows
as failed with what was saved — never as done."""

import pytest

from campaigns.imports import service as imports
from campaigns.imports import writing
from campaigns.models import ContactImport, Customer, ImportRejection
from tests.imports.conftest import buckets, csv_file

pytestmark = pytest.mark.django_db

ROWS = "phone,first_name\n" + "".join(f"+1202555{n:04d},N{n}\n" for n in range(1, 10)) + "555-12,Bad\n"


class WorkerKilled(BaseException):
    """Like SIGKILL: no `except Exception` gets to run."""


@pytest.fixture
def queued():
    upload = imports.create_import(csv_file(ROWS), None)
    imports.confirm(upload, upload.mapping, default_country="US", existing="update",
                    duplicates="first")
    return upload


def die_on_batch(monkeypatch, number, error):
    real = writing.write_contacts
    calls = []

    def write(*args):
        calls.append(1)
        if len(calls) == number:
            raise error
        return real(*args)

    monkeypatch.setattr(writing, "write_contacts", write)


def test_a_killed_import_resumes_after_the_last_committed_batch(monkeypatch, queued):
    die_on_batch(monkeypatch, 3, WorkerKilled())
    with pytest.raises(WorkerKilled):
        imports.run_import(queued.pk, batch_size=3)
    queued.refresh_from_db()
    assert queued.status == ContactImport.Status.RUNNING  # not done: the broker redelivers it
    assert (queued.rows_done, Customer.objects.count()) == (6, 6)

    monkeypatch.undo()
    done = imports.run_import(queued.pk, batch_size=3)  # the redelivered task
    assert done.status == ContactImport.Status.DONE
    assert buckets(done) == {"imported": 9, "invalid": 1}
    assert done.rows_done == done.total_rows == 10
    assert Customer.objects.count() == 9
    assert ImportRejection.objects.get().line == 11


def test_an_error_half_way_fails_cleanly_and_can_be_resumed(monkeypatch, queued):
    die_on_batch(monkeypatch, 2, RuntimeError("database went away"))
    failed = imports.run_import(queued.pk, batch_size=3)
    assert failed.status == ContactImport.Status.FAILED
    assert failed.error == "RuntimeError: database went away"
    assert failed.rows_done == 3

    monkeypatch.undo()
    assert imports.requeue(failed)
    done = imports.run_import(queued.pk, batch_size=3)
    assert done.status == ContactImport.Status.DONE
    assert buckets(done) == {"imported": 9, "invalid": 1}


def test_a_finished_import_is_not_run_twice(queued):
    imports.run_import(queued.pk)
    again = imports.run_import(queued.pk)
    assert again.rows_done == 10
    assert again.imported == 9


def test_the_failed_page_says_so_and_offers_to_resume(monkeypatch, queued, staff_client):
    die_on_batch(monkeypatch, 2, RuntimeError("database went away"))
    imports.run_import(queued.pk, batch_size=3)
    response = staff_client.get(f"/imports/{queued.pk}/")
    assert b"Failed" in response.content
    assert b"database went away" in response.content
    assert b"stopped after 3 of 10 rows" in response.content
    assert b"Resume from row 4" in response.content
