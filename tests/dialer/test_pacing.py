"""The account's calls per second hold across workers: one Redis token bucket for all."""

import itertools
import multiprocessing
import time

import pytest
import redis
from django.conf import settings

from calls.dialer.pacing import CallsPerSecond

KEY = "dialer:test-cps-bucket"


def take_for(seconds: float, rate: float, redis_url: str, results) -> None:
    bucket = CallsPerSecond(rate, redis.Redis.from_url(redis_url), key=KEY)
    deadline = time.time() + seconds
    while time.time() < deadline:
        if bucket.take(timeout=0.5):
            # When Redis granted it: a loaded machine may delay this process afterwards.
            results.append(bucket.granted_at_ms / 1000)


@pytest.mark.parametrize("rate", [1, 5])
def test_two_worker_processes_together_never_exceed_the_rate(rate):
    redis.Redis.from_url(settings.REDIS_URL).delete(KEY)
    # Spawned, not forked: the test process already runs threads (workers, event loops).
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager:
        taken = manager.list()
        workers = [context.Process(target=take_for, args=(3, rate, settings.REDIS_URL, taken))
                   for _ in range(2)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=20)
        stamps = sorted(taken)

    assert len(stamps) >= 2 * rate  # both workers got to dial
    # Any one-second window holds at most `rate` dials (plus the one token a full bucket holds).
    for index, start in enumerate(stamps):
        in_window = sum(1 for stamp in stamps[index:] if stamp < start + 1.0)
        assert in_window <= rate + 1
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    assert min(gaps) >= (1 / rate) * 0.99


def test_a_bucket_says_how_long_to_wait():
    redis.Redis.from_url(settings.REDIS_URL).delete(KEY)
    bucket = CallsPerSecond(2, key=KEY)
    assert bucket.try_take() == 0
    wait = bucket.try_take()
    assert 0.3 < wait <= 0.5
