"""How many media streams a web process can hold, and what every live web process says it holds.

Each daphne process serves its calls on one event loop; past some number of calls every call
falls behind real time at once (bench/concurrent_calls.py). So a process admits a new media
stream only while it holds fewer than `MEDIA_STREAMS_PER_PROCESS` and its event loop keeps
time (the lag probe's p95 under `MEDIA_ADMISSION_LAG_P95_MS`), and refuses it before the
WebSocket is accepted otherwise — a proxy can then try another process, and the calls it holds
are untouched. It is refused while draining too (a deploy, dialer_site.web_server).

Every web process publishes its load to Redis with a heartbeat (`beat`); `live_processes()`
reads what the live ones said, for the dispatcher (which dials no more calls than they can
take), the health check and the System page. A process that dies stops beating and drops out
after `BEAT_TTL_BEATS` beats."""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import socket
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass

import redis
import redis.asyncio as aioredis
from django.conf import settings

from calls import live
from calls.models import Call
from common.redis_client import shared_redis

logger = logging.getLogger(__name__)

PROCESSES_KEY = "dialer:web-processes"  # a sorted set: process id -> when its beat expires
BEAT_KEY = "dialer:web-process:{}"  # the process's last beat, JSON, expiring with it
BEAT_TTL_BEATS = 3  # one late beat never makes a live process look dead
# The lag probe wakes this often; its p95 is over the last LAG_WINDOW samples (10 s), and
# decides nothing before LAG_MIN_SAMPLES (2 s) so one slow start-up moment refuses no call.
LAG_PROBE_SECONDS = 0.1
LAG_WINDOW = 100
LAG_MIN_SAMPLES = 20


@dataclass(frozen=True)
class Refusal:
    """Why a stream was refused: `reason` labels the metric, `text` is for the log line."""

    reason: str
    text: str


class Stream:
    """An admitted stream's place in the process; `release` it once its call is over."""

    def __init__(self, load: ProcessLoad):
        self._load = load
        self.deadline = time.monotonic() + settings.TWILIO_TIME_LIMIT_SECONDS
        self.released = False

    def release(self, *_args) -> None:
        if not self.released:
            self.released = True
            self._load.streams.discard(self)
            self._load.on_change()


class ProcessLoad:
    """This process's streams, lag and draining flag. Used on the event loop only."""

    def __init__(self, capacity: int, lag_limit_ms: float):
        self.capacity = capacity
        self.lag_limit_ms = lag_limit_ms
        self.streams: set[Stream] = set()
        self.lags: deque[float] = deque(maxlen=LAG_WINDOW)
        self.draining = False
        self.started_at = time.time()
        self.id = f"{socket.gethostname()}:{os.getpid()}"
        self.address = ""  # host:port, once the server listens
        # Called when a stream comes or goes; the web server publishes the beat then, not only
        # on the next heartbeat, so the dispatcher sees a new stream before its call's row does.
        self.on_change: Callable[[], None] = lambda: None

    @property
    def live(self) -> int:
        return len(self.streams)

    def lag_p95_ms(self) -> float | None:
        if len(self.lags) < LAG_MIN_SAMPLES:
            return None
        ordered = sorted(self.lags)
        return ordered[math.ceil(0.95 * len(ordered)) - 1] * 1000

    def refusal(self) -> Refusal | None:
        if self.draining:
            return Refusal("draining", "this process is draining (shutting down)")
        if self.live >= self.capacity:
            return Refusal("full", f"this process is full ({self.live} of MEDIA_STREAMS_PER_PROCESS="
                                   f"{self.capacity} streams live)")
        lag = self.lag_p95_ms()
        if lag is not None and lag > self.lag_limit_ms:
            return Refusal("lagging", f"the event loop is {lag:.0f} ms late (p95, over "
                                      f"MEDIA_ADMISSION_LAG_P95_MS={self.lag_limit_ms:g})")
        return None

    def admit(self) -> Stream | Refusal:
        """Take a place for a new stream, or say why not (no await: check and take at once)."""
        refusal = self.refusal()
        if refusal is not None:
            return refusal
        stream = Stream(self)
        self.streams.add(stream)
        self.on_change()
        return stream

    def last_deadline(self) -> float:
        """When the longest of the live calls must be over (Twilio's TimeLimit ends it)."""
        return max((stream.deadline for stream in self.streams), default=time.monotonic())

    def beat(self) -> dict:
        return asdict(Beat(id=self.id, address=self.address, pid=os.getpid(), capacity=self.capacity,
                           live=self.live, lag_p95_ms=self.lag_p95_ms(), draining=self.draining,
                           admitting=self.refusal() is None, started_at=self.started_at,
                           beat_at=time.time()))


@dataclass(frozen=True)
class Beat:
    id: str
    address: str
    pid: int
    capacity: int
    live: int
    lag_p95_ms: float | None
    draining: bool
    admitting: bool
    started_at: float
    beat_at: float

    @property
    def free(self) -> int:
        """Streams it would still take now (none while draining or lagging)."""
        return max(self.capacity - self.live, 0) if self.admitting else 0


_load: ProcessLoad | None = None


def this_process() -> ProcessLoad:
    global _load
    if _load is None:
        _load = ProcessLoad(settings.MEDIA_STREAMS_PER_PROCESS, settings.MEDIA_ADMISSION_LAG_P95_MS)
    return _load


async def probe_lag(load: ProcessLoad, observe: Callable[[float], None] | None = None) -> None:
    """Sleep a fixed time and note how late the loop woke us: its lag behind real time."""
    loop = asyncio.get_running_loop()
    while True:
        asked = loop.time()
        await asyncio.sleep(LAG_PROBE_SECONDS)
        lag = max(loop.time() - asked - LAG_PROBE_SECONDS, 0.0)
        load.lags.append(lag)
        if observe is not None:
            observe(lag)


async def publish(load: ProcessLoad, client: aioredis.Redis) -> None:
    """This process's beat, now: its load, kept a few beats. Redis being away is logged, and
    the next beat tries again."""
    ttl = BEAT_TTL_BEATS * settings.WEB_HEARTBEAT_SECONDS
    beat = load.beat()
    try:
        async with client.pipeline(transaction=True) as pipe:
            pipe.set(BEAT_KEY.format(load.id), json.dumps(beat), ex=math.ceil(ttl))
            pipe.zadd(PROCESSES_KEY, {load.id: beat["beat_at"] + ttl})
            await pipe.execute()
    except (redis.RedisError, OSError):
        logger.warning("Could not publish this web process's load to Redis", exc_info=True)


async def forget(load: ProcessLoad, client: aioredis.Redis) -> None:
    """This process is gone: the dispatcher counts its capacity no longer."""
    async with client.pipeline(transaction=True) as pipe:
        pipe.delete(BEAT_KEY.format(load.id))
        pipe.zrem(PROCESSES_KEY, load.id)
        await pipe.execute()


async def keep_beating(load: ProcessLoad, client: aioredis.Redis) -> None:
    while True:
        await publish(load, client)
        await asyncio.sleep(settings.WEB_HEARTBEAT_SECONDS)


def live_processes(client: redis.Redis | None = None) -> list[Beat]:
    """What every web process that beat recently said, oldest process first."""
    client = client or shared_redis()
    now = time.time()
    client.zremrangebyscore(PROCESSES_KEY, "-inf", now)
    ids = [member.decode() for member in client.zrangebyscore(PROCESSES_KEY, now, "+inf")]
    if not ids:
        return []
    beats = [Beat(**json.loads(raw)) for raw in client.mget([BEAT_KEY.format(i) for i in ids]) if raw]
    return sorted(beats, key=lambda beat: (beat.started_at, beat.id))


@dataclass(frozen=True)
class WebRoom:
    """How many more calls the deployment's web processes can take: the streams they would
    still accept, less the calls placed (or claimed, about to be) whose stream has not
    started yet — each of those will need one."""

    processes: int
    free: int
    waiting: int

    @property
    def calls(self) -> int:
        return max(self.free - self.waiting, 0)

    def why_held(self) -> str:
        """Why nothing more is dialled now, in words for the campaign page; empty if there is room."""
        if self.calls:
            return ""
        if not self.processes:
            return ("No web process is live, so nothing is dialled: a call with no media stream to "
                    "land on would be wasted. Start one (`make run`, or `manage.py serve_web`).")
        return (f"The web processes are full ({self.processes} live, {self.free} streams free, "
                f"{self.waiting} calls on their way to one): new calls wait for room.")


def web_room() -> WebRoom:
    """Read from Redis (the beats) and the database (calls without a stream yet). A process
    publishes a new stream at once, before the call's stream is stored, so a call is never
    missed by both; for a moment it may be counted twice, which only dials less."""
    try:
        beats = live_processes()
    except redis.RedisError:
        logger.warning("Cannot read the web processes' capacity from Redis: dialling nothing", exc_info=True)
        beats = []
    waiting = Call.objects.live().filter(stream_sid="").count()
    return WebRoom(processes=len(beats), free=sum(beat.free for beat in beats), waiting=waiting)


HELD_KEY = "dialer:calls-held"  # why_held() as the pages were last told it


def publish_held_changes(campaign_ids: list[int]) -> None:
    """Tell these (running) campaigns' pages when why_held() changed since the last time
    (a web process started, died, filled up or freed a stream): their "Calls are held"
    notice follows without a reload. The dispatch tick calls this every tick; with no
    campaign running there is no page to tell, and nothing is read."""
    if not campaign_ids:
        return
    held = web_room().why_held()
    try:
        before = shared_redis().set(HELD_KEY, held, get=True)
    except redis.RedisError:
        logger.warning("Cannot compare why calls are held with the last time", exc_info=True)
        return
    if (before or b"").decode() != held:
        live.publish_held(campaign_ids)
