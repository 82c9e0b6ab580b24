"""Waiting for what another process or thread does (a worker, a server), with a deadline."""

import contextlib
import time

from django.db import connection


def wait_until(predicate, timeout: float = 20.0, interval: float = 0.05):
    """predicate's first truthy value; TimeoutError if none comes within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"condition not met within {timeout} s")


def settle_on(read, expect, timeout: float = 15.0):
    """Wait until a page shows what the database holds (the pages batch updates for up to a
    second). Page and database are compared as the one pair read together, and that pair is
    what the assertion shows: read again, the database may have moved on a moment after the
    match (mid-campaign a call answers) while the page follows it a second later."""
    last = {}

    def same():
        last["shown"] = read()  # the page first: it can lag the database, never lead it
        last["held"] = expect()
        return last["shown"] == last["held"]

    with contextlib.suppress(TimeoutError):
        wait_until(same, timeout=timeout, interval=0.25)
    assert last["shown"] == last["held"]


def sessions_waiting_on_a_lock() -> int:
    """How many other database sessions are waiting for a lock right now."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                       " AND wait_event_type = 'Lock'")
        return cursor.fetchone()[0]
