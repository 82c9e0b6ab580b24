"""Status callbacks are answered at once and applied in batches.

The webhook checks the signature and the form, adds the callback to a Redis stream and
answers Twilio; `manage.py apply_status_callbacks` reads the stream as a consumer group and
applies what it finds in batches (calls.status), acknowledging entries only once their
transaction has committed. A request thus costs one XADD instead of a transaction of its
own, and a burst (every call of a campaign ending at once) is applied in a few statements.

Nothing is lost on the way: an applier that dies leaves its entries pending, and another
claims them after CLAIM_IDLE_MS; a database outage leaves them pending until it passes; an
entry that cannot be applied is set aside in the dead-letter stream (`<stream>:dead`) with
its error; if Redis cannot take a callback, the webhook applies that one itself. The stream
is named by STATUS_CALLBACK_STREAM, so deployments (and test runs) sharing one Redis keep
apart. Needs Redis ≥ 6.2 (XAUTOCLAIM)."""

import asyncio
import json
import logging
import os
import socket
import time

import redis
import redis.asyncio
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import InterfaceError, OperationalError, close_old_connections

from calls.status import StatusCallback, apply_status_callbacks
from common.redis_client import shared_redis

logger = logging.getLogger(__name__)

GROUP = "appliers"
BATCH = 500
CLAIM_IDLE_MS = 60_000
BLOCK_MS = 1_000
# After a batch smaller than BATCH the applier pauses this long, so that under load each
# batch holds a tenth of a second of callbacks (a transaction and a few statements for all
# of them) rather than one or two; no callback waits longer than this for it.
LINGER_SECONDS = 0.1


def _encode(callback: StatusCallback) -> dict:
    return {"callback": json.dumps([callback.params, callback.raw, callback.call_id_hint])}


def _decode(fields: dict) -> StatusCallback:
    params, raw, call_id_hint = json.loads(fields[b"callback"])
    return StatusCallback(params, raw, call_id_hint)


def stream() -> str:
    return settings.STATUS_CALLBACK_STREAM


def dead_letters() -> str:
    return f"{stream()}:dead"


# One client per event loop: daphne has one for good; a WSGI server or the test client runs
# each request on a loop of its own, so clients of loops that have closed are dropped.
_clients: dict[asyncio.AbstractEventLoop, redis.asyncio.Redis] = {}


def _client_for_this_loop() -> redis.asyncio.Redis:
    loop = asyncio.get_running_loop()
    if loop not in _clients:
        for closed in [other for other in _clients if other.is_closed()]:
            del _clients[closed]
        _clients[loop] = redis.asyncio.Redis.from_url(settings.REDIS_URL, socket_timeout=5,
                                                      socket_connect_timeout=2)
    return _clients[loop]


async def enqueue(callback: StatusCallback) -> None:
    """Hand a validated callback to the appliers, or apply it here if Redis cannot take it."""
    try:
        await _client_for_this_loop().xadd(stream(), _encode(callback))
    except redis.RedisError as error:
        logger.warning("Redis did not take a status callback (%s); applying it in the request", error,
                       extra={"call_sid": callback.params["CallSid"]})
        await sync_to_async(apply_status_callbacks)([callback])


def backlog() -> dict:
    """How far the appliers are behind: entries not yet applied, and the oldest one's age."""
    client = shared_redis()
    waiting = client.xrange(stream(), count=1)  # applied entries are deleted: the first one waits
    if not waiting:
        return {"entries": 0, "oldest_seconds": 0.0}
    seconds, micros = client.time()  # entry ids are Redis's clock, not this host's
    age_ms = seconds * 1000 + micros // 1000 - int(waiting[0][0].decode().split("-")[0])
    return {"entries": client.xlen(stream()), "oldest_seconds": max(age_ms, 0) / 1000}


class Applier:
    """One member of the consumer group; run as many as you like."""

    def __init__(self, name: str | None = None, claim_idle_ms: int = CLAIM_IDLE_MS):
        self.name = name or f"{socket.gethostname()}-{os.getpid()}"
        self.claim_idle_ms = claim_idle_ms
        self.redis = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=BLOCK_MS / 1000 + 10)
        self.next_claim = 0.0
        self.retry_own = False  # after an outage: this applier's own unacknowledged entries first
        self._join_group()

    def _join_group(self) -> None:
        try:
            self.redis.xgroup_create(stream(), GROUP, id="0", mkstream=True)
        except redis.ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise

    def apply_waiting(self, block_ms: int | None = None) -> int:
        """Apply one batch: this applier's own entries an outage interrupted, entries a dead
        applier left (checked every half CLAIM_IDLE_MS), else new ones, waiting up to
        `block_ms` for them. How many were applied."""
        if self.retry_own:
            read = self.redis.xreadgroup(GROUP, self.name, {stream(): "0"}, count=BATCH)
            if read and read[0][1]:
                return self._apply(read[0][1])
            self.retry_own = False
        if time.monotonic() >= self.next_claim:
            self.next_claim = time.monotonic() + self.claim_idle_ms / 2000
            entries = self.redis.xautoclaim(stream(), GROUP, self.name, self.claim_idle_ms, count=BATCH)[1]
            if entries:
                logger.warning("Claimed %d status callbacks another applier left", len(entries))
                return self._apply(entries)
        read = self.redis.xreadgroup(GROUP, self.name, {stream(): ">"}, count=BATCH, block=block_ms)
        return self._apply(read[0][1]) if read else 0

    def apply_all_waiting(self) -> int:
        """Apply until nothing new is waiting (tests and the bench apply this way)."""
        total = 0
        while applied := self.apply_waiting():
            total += applied
        return total

    def run(self, should_stop) -> None:
        while not should_stop():
            try:
                if 0 < self.apply_waiting(block_ms=BLOCK_MS) < BATCH:
                    time.sleep(LINGER_SECONDS)
            except (OperationalError, InterfaceError, redis.RedisError) as error:
                # The entries stay pending: this applier takes them again once the outage passes.
                logger.error("Status callbacks wait: %s", error)
                self.retry_own = True
                time.sleep(1)
                if isinstance(error, redis.ResponseError):  # e.g. NOGROUP: Redis restarted empty
                    self._join_group()
            finally:
                close_old_connections()

    def _apply(self, entries: list) -> int:
        ids = [entry_id for entry_id, _ in entries]
        try:
            apply_status_callbacks([_decode(fields) for _, fields in entries])
        except (OperationalError, InterfaceError):
            raise
        except Exception:  # the batch's transaction rolled back: find the entry at fault
            logger.exception("A batch of %d status callbacks failed; applying them one by one", len(ids))
            for entry_id, fields in entries:
                self._apply_alone(entry_id, fields)
        self.redis.pipeline().xack(stream(), GROUP, *ids).xdel(stream(), *ids).execute()
        return len(ids)

    def _apply_alone(self, entry_id, fields: dict) -> None:
        try:
            apply_status_callbacks([_decode(fields)])
        except (OperationalError, InterfaceError):
            raise
        except Exception as error:
            # It would fail the same way every time: set it aside, with why, for someone to look at.
            self.redis.xadd(dead_letters(), {**fields, "error": repr(error)[:1000], "entry_id": entry_id})
            logger.exception("Set aside a status callback that cannot be applied in %s", dead_letters(),
                             extra={"entry_id": entry_id.decode()})
