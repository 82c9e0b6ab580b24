"""The account's calls per second hold across workers: Redis token buckets shared by all."""

import itertools
import multiprocessing
import threading
from datetime import datetime

import pytest
import redis
from django.conf import settings

from calls.dialer.claiming import claim_due_leads
from calls.dialer.pacing import CallsPerSecond
from calls.dialer.placing import place_call
from campaigns import lifecycle
from campaigns.models import Campaign
from tests.dialer.conftest import hold_open, in_threads, make_campaign
from tests.dialer.cps_taker import KEY, take_for
from tests.waiting import sessions_waiting_on_a_lock, wait_until


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


# The emulator stamps a request once it has read it, up to some tens of milliseconds after
# its token on a loaded machine; dials released together arrive within a few milliseconds.
ARRIVAL_JITTER = 0.1


@pytest.mark.django_db(transaction=True)
def test_dials_released_together_from_their_last_look_reach_twilio_at_the_rate(emulator, settings):
    # More than a second's worth must wait on the lock together: each waiting dial holds one
    # of the process's pooled database connections (DATABASE_POOL_SIZE, 8), and the writer,
    # this test and the live server hold some too, so the rate is kept well below the pool.
    settings.TWILIO_CALLS_PER_SECOND = rate = 3
    numbers = [f"+120255502{n:02d}" for n in range(10, 22)]
    campaign = make_campaign(numbers, max_concurrent_calls=len(numbers))
    lifecycle.start(campaign)
    call_ids = claim_due_leads(campaign.pk)
    assert len(call_ids) == len(numbers)
    # A transaction holds the campaign's row (a settings save, a pause being written): the
    # dials admitted meanwhile, a second's worth and more, wait in their last look together.
    written, release = threading.Event(), threading.Event()
    [writer] = in_threads(hold_open, (lambda: Campaign.objects.select_for_update().get(pk=campaign.pk),
                                      written, release))
    assert written.wait(timeout=10)
    dials = in_threads(place_call, *[(call_id,) for call_id in call_ids])
    try:
        wait_until(lambda: sessions_waiting_on_a_lock() > rate, timeout=20)
    finally:
        release.set()
        writer.join()
        for dial in dials:
            dial.join(timeout=60)

    sent = sorted(datetime.fromisoformat(entry["at"]).timestamp()
                  for call in emulator.calls() for entry in call["timeline"]["entries"]
                  if entry["kind"] == "rest_create")
    assert len(sent) == len(numbers)
    # No second holds more than `rate` requests: the request `rate` places later is a second on.
    spans = [later - first for first, later in zip(sent, sent[rate:], strict=False)]
    assert min(spans) > 1 - ARRIVAL_JITTER, [round(t - sent[0], 3) for t in sent]
