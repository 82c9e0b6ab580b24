"""Waiting for what another process or thread does (a worker, a server), with a deadline."""

import time


def wait_until(predicate, timeout: float = 20.0, interval: float = 0.05):
    """predicate's first truthy value; TimeoutError if none comes within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"condition not met within {timeout} s")
