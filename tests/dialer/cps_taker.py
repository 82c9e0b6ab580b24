"""A worker process that takes calls-per-second tokens for a while (test_pacing.py spawns
it): Redis and the bucket only, so it needs no Django set-up."""

import time

import redis

from calls.dialer.pacing import CallsPerSecond

KEY = "dialer:test-cps-bucket"


def take_for(seconds: float, rate: float, redis_url: str, results) -> None:
    bucket = CallsPerSecond(rate, redis.Redis.from_url(redis_url), key=KEY)
    deadline = time.time() + seconds
    while time.time() < deadline:
        if bucket.take(timeout=0.5):
            # When Redis granted it: a loaded machine may delay this process afterwards.
            results.append(bucket.granted_at_ms / 1000)
