"""Signed HTTP requests from "Twilio" to the app: status callbacks, TwiML, AMD results.

Every request is signed with X-Twilio-Signature. Nothing the app does (errors, timeouts,
refused connections) raises out of here: it is written on the call's timeline instead.

A URL may end in Twilio's connection overrides, a fragment such as `#rc=3&rp=all` (retry
count, what to retry: `ct` connection failures, `rt` read timeouts, `4xx`, `5xx`, `all`;
`ct`/`rt`/`tt` timeouts in ms). As on Twilio the fragment is never sent: the request goes to
the URL without it, while the signature is computed over the URL as it was given, fragment
included (the URL the app configured; the official helper libraries keep a URL's fragment
when they normalise it for validation). Without a fragment nothing is retried.

Twilio does not promise delivery: a callback can be lost however the app is configured. A
`WebhookLoss` (the scenario's `lose_webhooks`, or `EmulatorThread.lose_webhooks`) makes the
matching requests fail as if the app could not be reached, every retry included, so tests
can check the app converges without them.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urldefrag, urlencode, urlsplit

import aiohttp

from .signing import SIGNATURE_HEADER, sign
from .timeline import Timeline

USER_AGENT = "TwilioProxy/1.1"
MAX_RETRIES = 5  # Twilio's limit for rc
MAX_TOTAL_MS = 15_000  # and for tt, the time all attempts may take together
RETRY_POLICIES = frozenset({"ct", "rt", "4xx", "5xx"})


@dataclass
class Reply:
    status: int | None  # None: no HTTP answer at all
    text: str = ""
    error: str = ""
    failure: str = ""  # without an answer: "ct" (no connection) or "rt" (no timely answer)
    attempts: int = 1

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass(frozen=True)
class ConnectionOverrides:
    """What a URL's fragment asks of the connection (Twilio's "connection overrides")."""

    retries: int = 0
    policy: frozenset[str] = frozenset()
    connect_ms: int | None = None
    read_ms: int | None = None
    total_ms: int = MAX_TOTAL_MS

    @classmethod
    def parse(cls, fragment: str) -> ConnectionOverrides:
        fields = dict(parse_qsl(fragment))

        def number(name: str, low: int, high: int) -> int | None:
            try:
                return min(max(int(fields[name]), low), high)
            except (KeyError, ValueError):
                return None

        policy = {word for word in fields.get("rp", "").split(",") if word}
        return cls(retries=number("rc", 0, MAX_RETRIES) or 0,
                   policy=RETRY_POLICIES if "all" in policy else frozenset(policy & RETRY_POLICIES),
                   connect_ms=number("ct", 100, 10_000), read_ms=number("rt", 100, 15_000),
                   total_ms=number("tt", 100, MAX_TOTAL_MS) or MAX_TOTAL_MS)

    def retries_after(self, reply: Reply) -> bool:
        if reply.ok:
            return False
        if reply.status is None:
            return reply.failure in self.policy
        return f"{reply.status // 100}xx" in self.policy


@dataclass
class WebhookLoss:
    """Requests to lose: URL matching `url` (re.search, fragment excluded) whose parameters
    include every one of `params`; the first `times` of them (every one if None)."""

    url: re.Pattern[str]
    params: dict[str, str] = field(default_factory=dict)
    times: int | None = None
    lost: int = 0

    def takes(self, url: str, params: Mapping[str, str]) -> bool:
        if self.times is not None and self.lost >= self.times:
            return False
        if not self.url.search(url) or any(params.get(k) != v for k, v in self.params.items()):
            return False
        self.lost += 1
        return True


class Webhooks:
    def __init__(self, session: aiohttp.ClientSession, auth_token: str,
                 timeout_seconds: float, losses: list[WebhookLoss] | None = None) -> None:
        self.session = session
        self.auth_token = auth_token
        self.timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self.losses = losses if losses is not None else []

    async def request(self, method: str, url: str, params: Mapping[str, str]) -> Reply:
        """POST the parameters as a form, or GET with them in the query string; retried as
        the URL's connection overrides ask (attempts a second, then 2, 4 … apart, all
        within the overrides' total time)."""
        url, fragment = urldefrag(url)
        for loss in self.losses:  # the first loss that takes the request counts it
            if loss.takes(url, params):
                return Reply(None, error="lost: the emulator dropped it (lose_webhooks)", failure="ct")
        overrides = ConnectionOverrides.parse(fragment)
        deadline = time.monotonic() + overrides.total_ms / 1000
        attempt = 0
        while True:
            reply = await self._attempt(method, url, fragment, params, overrides)
            reply.attempts = attempt + 1
            pause = 2.0 ** attempt
            if (attempt >= overrides.retries or not overrides.retries_after(reply)
                    or time.monotonic() + pause >= deadline):
                return reply
            attempt += 1
            await asyncio.sleep(pause)

    async def _attempt(self, method: str, url: str, fragment: str, params: Mapping[str, str],
                       overrides: ConnectionOverrides) -> Reply:
        method = method.upper() if method.upper() in ("GET", "POST") else "POST"
        if method == "GET":
            if params:
                url = f"{url}{'&' if urlsplit(url).query else '?'}{urlencode(params)}"
            signature, body = sign(self.auth_token, _as_configured(url, fragment)), None
        else:
            signature, body = sign(self.auth_token, _as_configured(url, fragment), params), dict(params)
        headers = {SIGNATURE_HEADER: signature, "User-Agent": USER_AGENT,
                   "Accept": "*/*", "Cache-Control": "max-age=259200"}
        timeout = aiohttp.ClientTimeout(
            total=self.timeout.total,
            sock_connect=overrides.connect_ms / 1000 if overrides.connect_ms else None,
            sock_read=overrides.read_ms / 1000 if overrides.read_ms else None)
        try:
            async with self.session.request(method, url, data=body, headers=headers,
                                            timeout=timeout) as response:
                return Reply(response.status, await response.text(errors="replace"))
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
            return Reply(None, error=f"{type(exc).__name__}: {exc}", failure="ct")
        except TimeoutError:
            return Reply(None, error=f"timed out after {self.timeout.total:g} s", failure="rt")
        except (aiohttp.ClientError, ValueError, OSError) as exc:
            return Reply(None, error=f"{type(exc).__name__}: {exc}", failure="rt")

    async def notify(self, timeline: Timeline, kind: str, method: str, url: str,
                     params: Mapping[str, str]) -> Reply:
        """A fire-and-forget callback: its answer is only recorded."""
        reply = await self.request(method, url, params)
        details = {"url": url, "http_status": reply.status, "attempts": reply.attempts,
                   "params": dict(params)}
        if reply.ok:
            timeline.add(kind, **details)
        else:
            # Twilio's debugger: 11200 HTTP retrieval failure, 11205 connection failure.
            timeline.error(f"{kind} failed", code=11200 if reply.status else 11205,
                           error=reply.error or reply.text[:200], **details)
        return reply


def _as_configured(url: str, fragment: str) -> str:
    return f"{url}#{fragment}" if fragment else url
