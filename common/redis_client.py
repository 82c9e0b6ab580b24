"""One Redis client per process for the short reads and writes the dialer and the pages make
on every tick, dial and scrape (web processes' beats, metrics counters, the callback backlog):
a client holds a connection pool, so building one per call paid a new TCP connection each time.
redis-py's pool notices a fork and reconnects, and reconnects after Redis restarts."""

from functools import lru_cache

import redis
from django.conf import settings


@lru_cache(maxsize=4)  # keyed by URL: a test that points REDIS_URL elsewhere gets its own
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2)


def shared_redis() -> redis.Redis:
    return _client(settings.REDIS_URL)
