"""Shared personas: staff (runs campaigns), stranger (signed in, not staff); a real Celery
worker; and a guard that lets background work settle before a transactional test flushes
the database."""

import time

import pytest
from celery.contrib.testing.worker import start_worker

from dialer_site.celery import app


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user("alice", "alice@example.com", "pw-alice-123", is_staff=True)


@pytest.fixture
def stranger(django_user_model):
    return django_user_model.objects.create_user("bob", "bob@example.com", "pw-bob-12345")


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


def _start_worker():
    return start_worker(app, pool="threads", concurrency=4, perform_ping_check=False, shutdown_timeout=10)


@pytest.fixture
def worker():
    """A worker on the test queue, in threads of this process (tests need transaction=True)."""
    # Messages an earlier test left (a crashed worker's, say) would run against this test's rows.
    app.control.purge()
    with _start_worker() as running:
        yield running


@pytest.fixture
def worker_factory():
    """For tests that need a worker only from some point on."""
    return _start_worker


@pytest.fixture(autouse=True)
def background_work_settles_before_the_flush(request):
    """A transactional test ends with a flush (TRUNCATE) of every table. A request the
    emulator cut short, or a worker's last task, may still be writing in another session:
    the flush then deadlocks with it. Wait for those sessions to go quiet first; one still
    busy after the wait is ended, since whatever it writes is about to be truncated."""
    yield
    marker = request.node.get_closest_marker("django_db")
    if marker is None or not (marker.kwargs.get("transaction") or marker.args[:1] == (True,)):
        return
    from django.db import connection
    busy = ("SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid() AND state IN ('active', 'idle in transaction')")
    deadline = time.monotonic() + 10
    with connection.cursor() as cursor:
        while True:
            cursor.execute(busy)
            pids = [pid for (pid,) in cursor.fetchall()]
            if not pids:
                return
            if time.monotonic() > deadline:
                cursor.execute("SELECT pg_terminate_backend(pid) FROM unnest(%s::int[]) AS pid", [pids])
                return
            time.sleep(0.05)
