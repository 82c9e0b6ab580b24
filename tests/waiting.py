"""Waiting for what another process or thread does (a worker, a server), with a deadline."""

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


def sessions_waiting_on_a_lock() -> int:
    """How many other database sessions are waiting for a lock right now."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                       " AND wait_event_type = 'Lock'")
        return cursor.fetchone()[0]
