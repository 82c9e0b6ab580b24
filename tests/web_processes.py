"""Web processes as the dispatcher sees them: beats in Redis, published as a real process
publishes its own (calls.capacity.publish), for tests that need room to dial (or none)."""

import asyncio

import redis
import redis.asyncio as aioredis
from django.conf import settings

from calls import capacity


def publish(load: capacity.ProcessLoad) -> capacity.ProcessLoad:
    async def beat():
        async with aioredis.Redis.from_url(settings.REDIS_URL) as client:
            await capacity.publish(load, client)
    asyncio.run(beat())
    return load


def web_process(name: str, size: int, calls: int = 0, *, draining: bool = False) -> capacity.ProcessLoad:
    """A live web process holding `calls` of `size` streams; its beat lasts three heartbeats."""
    load = capacity.ProcessLoad(size, 100)
    load.id, load.address, load.draining = f"{name}:4242", f"10.0.0.{size}:8000", draining
    for _ in range(calls):
        load.admit()
    return publish(load)


def forget_all() -> None:
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.delete(capacity.PROCESSES_KEY, *client.keys(capacity.BEAT_KEY.format("*")))
