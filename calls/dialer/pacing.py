"""The account's calls-per-second limit, shared by every worker on every host.

Twilio queues calls created faster than the account's CPS and places them later — possibly
after the calling window has closed — so we never ask faster than it. A token bucket in
Redis (one Lua script, atomic) paces all workers together; a per-worker Celery rate limit
would multiply the rate by the number of workers.

A dial takes two tokens. The first admits it to its last look (calls.dialer.placing), which
takes row locks and can wait for them; dials that waited there together would then reach
Twilio together, over the rate. So the requests themselves take a token of a second bucket
just before they go out: every dial reaching it has been admitted at the rate, so its waits
are short (a handful of dials released at once, spread at the rate)."""

import time

import redis
from django.conf import settings

BUCKET_KEY = "dialer:cps-bucket"  # admits dials to their last look
SENDS_KEY = "dialer:cps-sends"  # paces the REST requests themselves
KEYS = (BUCKET_KEY, SENDS_KEY)

# KEYS[1] bucket; ARGV: rate per second, capacity, now in ms.
# Returns 0 when a token was taken, else the milliseconds until one will be there.
_TAKE = """
local rate = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + (now - at) * rate / 1000)
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = math.ceil((1 - tokens) * 1000 / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tokens, 'at', now)
redis.call('PEXPIRE', KEYS[1], 60000)
return wait
"""


class CallsPerSecond:
    """Take one token per outbound call; `capacity` 1 means no bursts above the rate."""

    def __init__(self, rate: float, client: redis.Redis | None = None, key: str = BUCKET_KEY):
        self.rate = rate
        self.key = key
        self.redis = client or redis.Redis.from_url(settings.REDIS_URL)
        self._take = self.redis.register_script(_TAKE)
        self.granted_at_ms: int | None = None  # Redis's clock when the last token was taken
        self.waited = 0.0  # seconds the last take() slept for a token (calls.metrics counts them)

    def try_take(self) -> float:
        """Take a token now if there is one; return 0, or the seconds to wait for one."""
        # Redis's own clock, so hosts whose clocks differ still share one pace.
        seconds, micros = self.redis.time()
        now_ms = seconds * 1000 + micros // 1000
        wait_ms = self._take(keys=[self.key], args=[self.rate, 1, now_ms])
        if wait_ms == 0:
            self.granted_at_ms = now_ms
        return wait_ms / 1000

    def take(self, timeout: float) -> bool:
        """Wait for a token for at most `timeout` seconds."""
        started = time.monotonic()
        deadline = started + timeout
        self.waited = 0.0
        while True:
            wait = self.try_take()
            if wait == 0:
                return True
            if time.monotonic() + wait > deadline:
                self.waited = max(timeout, time.monotonic() - started)  # as good as waited out
                return False
            time.sleep(wait)
            self.waited = time.monotonic() - started


def account_pacer() -> CallsPerSecond:
    """Admits a dial to its last look."""
    return CallsPerSecond(settings.TWILIO_CALLS_PER_SECOND)


def send_pacer() -> CallsPerSecond:
    """Paces the account's call-creating REST requests, taken just before each."""
    return CallsPerSecond(settings.TWILIO_CALLS_PER_SECOND, key=SENDS_KEY)
