"""Shared personas: staff (runs campaigns), stranger (signed in, not staff); the background
side (a real Celery worker and a status-callback applier); and a guard that lets background
work settle before a transactional test flushes the database."""

import threading
import time
from contextlib import contextmanager

import pytest
import redis
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.db import connections

from calls import status_stream
from dialer_site.celery import app
from tests import factory


@pytest.fixture
def staff(db):
    return factory.staff()


@pytest.fixture
def stranger(db):
    return factory.stranger()


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


@contextmanager
def _applying_status_callbacks():
    stopping = threading.Event()
    applier = status_stream.Applier("tests-background")

    def run():
        try:
            applier.run(stopping.is_set)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run, name="status-callback-applier", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stopping.set()
        thread.join(timeout=10)


@contextmanager
def _start_worker():
    celery_worker = start_worker(app, pool="threads", concurrency=4, perform_ping_check=False,
                                 shutdown_timeout=10)
    with celery_worker as running, _applying_status_callbacks():
        yield running


@pytest.fixture
def worker():
    """The background side, as `make run` runs it: a Celery worker on the test queue and a
    status-callback applier, in threads of this process (tests need transaction=True)."""
    # Messages an earlier test left (a crashed worker's, say) would run against this test's rows.
    app.control.purge()
    with _start_worker() as running:
        yield running


@pytest.fixture
def worker_factory():
    """For tests that need the background side only from some point on."""
    return _start_worker


@pytest.fixture
def status_callback_applier():
    """The applier alone, for tests with a worker of their own."""
    with _applying_status_callbacks():
        yield


@pytest.fixture(autouse=True)
def no_status_callbacks_from_earlier_tests():
    redis.Redis.from_url(settings.REDIS_URL).delete(status_stream.stream(), status_stream.dead_letters())


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
