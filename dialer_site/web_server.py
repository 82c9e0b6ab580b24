"""A web process: daphne's own Server, run with our signal handling, admission and heartbeat.

Daphne's command line stops at once on SIGTERM, cutting every call the process holds. Here
SIGTERM drains instead: the process refuses new media streams (and /health/ answers 503
"draining", so a load balancer stops sending it work), lets the calls it holds run to their
end — at most Twilio's TimeLimit (`TWILIO_TIME_LIMIT_SECONDS`), which ends any call, however
long its campaign lets it run — then exits. A second SIGTERM, or SIGINT (Ctrl-C), stops at once.

Beside the server run the lag probe and the heartbeat that publishes this process's load to
Redis (calls.capacity). A stream refused for load is refused with HTTP 503 before the
WebSocket is accepted (daphne itself answers every refusal 403), so nginx's
`proxy_next_upstream http_503` hands it to another process."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
import time

import daphne.server  # first: installs Twisted's asyncio reactor
import redis
import redis.asyncio as aioredis
from autobahn.websocket.types import ConnectionDeny
from daphne.access import AccessLogGenerator
from daphne.ws_protocol import WebSocketProtocol
from django.conf import settings
from twisted.internet import defer, reactor

from calls import capacity, metrics
from calls.consumers import TRY_AGAIN_LATER

logger = logging.getLogger(__name__)

DRAIN_POLL_SECONDS = 0.5


class AdmittingWebSocketProtocol(WebSocketProtocol):
    """Daphne's protocol, except that a stream closed with "try again later" before it was
    accepted is refused with 503 Service Unavailable rather than 403."""

    def handle_reply(self, message):
        if (message.get("type") == "websocket.close" and message.get("code") == TRY_AGAIN_LATER
                and self.state == self.STATE_CONNECTING):
            self.handshake_deferred.errback(ConnectionDeny(code=503, reason="Service Unavailable"))
            del self.handshake_deferred
            self.server.protocol_disconnected(self)
            return
        super().handle_reply(message)


class WebServer(daphne.server.Server):
    def __init__(self, application, endpoints: list[str], *, proxy_headers: bool, access_log: bool):
        super().__init__(
            application, endpoints, signal_handlers=False, ready_callable=self._ready,
            action_logger=AccessLogGenerator(sys.stdout) if access_log else None,
            proxy_forwarded_address_header="X-Forwarded-For" if proxy_headers else None,
            proxy_forwarded_port_header="X-Forwarded-Port" if proxy_headers else None,
            proxy_forwarded_proto_header="X-Forwarded-Proto" if proxy_headers else None,
        )
        self.load = capacity.this_process()
        self.redis = aioredis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=5)
        self.tasks: list[asyncio.Task] = []
        self._publishing: asyncio.Task | None = None
        self._changed = False

    def _ready(self) -> None:
        """Called by daphne once its factories exist, just before the reactor runs."""
        self.ws_factory.protocol = AdmittingWebSocketProtocol
        self.load.on_change = self._publish_soon
        loop = asyncio.get_event_loop()
        loop.add_signal_handler(signal.SIGTERM, self.drain)
        loop.add_signal_handler(signal.SIGINT, self.stop)
        self.tasks = [loop.create_task(capacity.probe_lag(self.load, metrics.LOOP_LAG.observe)),
                      loop.create_task(capacity.keep_beating(self.load, self.redis))]
        reactor.addSystemEventTrigger("before", "shutdown", self._forget)

    def listen_success(self, port):
        super().listen_success(port)
        if self.listening_addresses:
            host, number = self.listening_addresses[-1]
            self.load.address = f"{host}:{number}"

    def _publish_soon(self) -> None:
        """A stream came or went: tell Redis now. One publish at a time; changes made while one
        is under way are published right after it."""
        self._changed = True
        if self._publishing is None or self._publishing.done():
            self._publishing = asyncio.ensure_future(self._publish_changes())

    async def _publish_changes(self) -> None:
        while self._changed:
            self._changed = False
            await capacity.publish(self.load, self.redis)

    def drain(self) -> None:
        if self.load.draining:
            logger.warning("SIGTERM again while draining: stopping now, %d calls cut", self.load.live)
            self.stop()
            return
        self.load.draining = True
        wait = max(self.load.last_deadline() - time.monotonic(), 0)
        logger.info("SIGTERM: draining. New media streams are refused; %d live calls may finish "
                    "(for at most %.0f s); then this process exits.", self.load.live, wait)
        self.tasks.append(asyncio.ensure_future(self._drain()))

    async def _drain(self) -> None:
        await capacity.publish(self.load, self.redis)  # at once: the dispatcher stops counting on us
        deadline = self.load.last_deadline()
        while self.load.live and time.monotonic() < deadline:
            await asyncio.sleep(DRAIN_POLL_SECONDS)
        if self.load.live:
            logger.warning("Drain time is up with %d calls still live: stopping", self.load.live)
        else:
            logger.info("Drained: no call left; exiting")
        self.stop()

    def _forget(self):
        for task in self.tasks:  # the drain, if any, is over by now: it is what stopped us
            task.cancel()

        async def forget():
            try:
                await capacity.forget(self.load, self.redis)
            except (redis.RedisError, OSError):
                logger.warning("Could not remove this process from Redis; its beat expires by itself")

        return defer.Deferred.fromFuture(asyncio.ensure_future(forget()))
