"""A process's admission rules and what the live web processes publish, without a server."""

import asyncio
import time

import pytest
import redis
import redis.asyncio as aioredis

from calls import capacity

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
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.delete(capacity.PROCESSES_KEY)
    busy, idle, dead = (capacity.ProcessLoad(size, 100) for size in (4, 8, 8))
    busy.id, idle.id, dead.id = "web-a:1", "web-b:2", "web-c:3"
    for _ in range(3):
        busy.admit()

    async def beat_all():
        async with aioredis.Redis.from_url(settings.REDIS_URL) as async_client:
            for load in (busy, idle, dead):
                await capacity.publish(load, async_client)

    asyncio.run(beat_all())
    client.zadd(capacity.PROCESSES_KEY, {dead.id: time.time() - 1})  # its beat lapsed: it died

    beats = capacity.live_processes(client)

    assert [(beat.id, beat.live, beat.free) for beat in beats] == [("web-a:1", 3, 1), ("web-b:2", 0, 8)]
    assert client.zscore(capacity.PROCESSES_KEY, dead.id) is None
