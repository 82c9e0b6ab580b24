"""A process's admission rules and what the live web processes publish, without a server."""

import time

import pytest
import redis

from calls import capacity
from tests.web_processes import forget_all, web_process

pytestmark = pytest.mark.django_db


def test_it_admits_up_to_its_capacity_then_refuses_as_full():
    load = capacity.ProcessLoad(capacity=2, lag_limit_ms=100)

    first, second = load.admit(), load.admit()
    refused = load.admit()

    assert isinstance(first, capacity.Stream) and isinstance(second, capacity.Stream)
    assert refused.reason == "full"
    assert refused.text == "this process is full (2 of MEDIA_STREAMS_PER_PROCESS=2 streams live)"
    first.release()
    first.release()  # twice is once
    assert load.live == 1
    assert isinstance(load.admit(), capacity.Stream)


def test_a_late_event_loop_refuses_only_once_the_probe_has_seen_enough():
    load = capacity.ProcessLoad(capacity=8, lag_limit_ms=50)
    load.lags.extend([0.2] * (capacity.LAG_MIN_SAMPLES - 1))
    assert load.refusal() is None  # too few samples to judge

    load.lags.append(0.2)

    assert load.refusal().reason == "lagging"
    assert load.refusal().text == "the event loop is 200 ms late (p95, over MEDIA_ADMISSION_LAG_P95_MS=50)"


def test_a_draining_process_refuses_everything():
    load = capacity.ProcessLoad(capacity=8, lag_limit_ms=100)
    load.draining = True
    assert load.admit().reason == "draining"
    assert load.beat()["admitting"] is False


def test_it_reads_the_live_processes_and_forgets_the_ones_whose_beat_lapsed(settings):
    forget_all()
    web_process("web-a", 4, calls=3)
    web_process("web-b", 8)
    dead = web_process("web-c", 8)
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.zadd(capacity.PROCESSES_KEY, {dead.id: time.time() - 1})  # its beat lapsed: it died

    beats = capacity.live_processes(client)

    assert [(beat.id, beat.live, beat.free) for beat in beats] == [("web-a:4242", 3, 1), ("web-b:4242", 0, 8)]
    assert client.zscore(capacity.PROCESSES_KEY, dead.id) is None
