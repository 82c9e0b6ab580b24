"""The emulator as a Python object: run it in-process (async) or on a background thread."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import ipaddress
import logging
import re
import tempfile
import threading
import time
import traceback
from collections.abc import Coroutine, Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from . import control, rest, rest_conferences
from .calls import Call, CallPacer, CallRequest, CallStatus
from .conference import Conferences
from .formats import is_e164
from .hearing import Hearing
from .metronome import Metronome
from .numbers import NumberBook
from .runner import CallContext, CallRunner, Timing
from .scenario import Callee, Scenario
from .speech import Synthesizer, require_espeak
from .web import EMULATOR_KEY, twilio_auth
from .webhooks import WebhookLoss, Webhooks

logger = logging.getLogger("twilio_emulator")

DEFAULT_DATA_DIR = Path(tempfile.gettempdir()) / "twilio-emulator"
ScriptSpec = str | list[dict[str, Any]] | None
STOP_GRACE_SECONDS = 2.0  # for the final status callbacks of calls cut by a shutdown


def settle_garbage_collector() -> None:
    """Leave everything alive after start-up out of future garbage-collection passes.

    A full collection walks every tracked object, and after importing numpy, aiohttp and
    twilio there are a few hundred thousand: a 15-25 ms pause that every call's audio feels
    at once. Meant for a process that is only the emulator (the CLI, the bench).
    """
    gc.collect()
    gc.freeze()


def is_wildcard(host: str) -> bool:
    """True for "listen on every interface" addresses, which clients cannot dial."""
    try:
        return host == "" or ipaddress.ip_address(host).is_unspecified
    except ValueError:
        return False


def build_app(emulator: Emulator) -> web.Application:
    """The emulator's aiohttp app: Twilio's REST API and the emulator's own control pages."""
    app = web.Application(middlewares=[twilio_auth])
    app[EMULATOR_KEY] = emulator
    app.add_routes(rest.routes)
    app.add_routes(rest_conferences.routes)
    app.add_routes(control.routes)
    return app


class Emulator:
    """An offline Twilio: REST API, webhooks, TwiML, Media Streams, emulated callees."""

    def __init__(self, account_sid: str, auth_token: str,
                 app_url: str = "http://127.0.0.1:8000",
                 scenario: Scenario | str | Path | dict[str, Any] | None = None,
                 cps: float = 1.0, data_dir: str | Path | None = None,
                 timing: Timing | None = None) -> None:
        if not auth_token:
            raise ValueError("an auth token is required: requests are signed with it")
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.app_url = app_url.rstrip("/")
        self.scenario = scenario if isinstance(scenario, Scenario) else Scenario.load(scenario)
        self.cps = cps
        self.data_dir = Path(data_dir) if data_dir else DEFAULT_DATA_DIR
        self.timing = timing or Timing()
        self.numbers = NumberBook(self.scenario.numbers)
        self.calls: dict[str, Call] = {}
        self.runners: dict[str, CallRunner] = {}
        self.base_url = ""
        self._tasks: set[asyncio.Task[Any]] = set()
        self._session: aiohttp.ClientSession | None = None
        self._site_runner: web.AppRunner | None = None
        self._context: CallContext | None = None
        self._hearing = Hearing()
        self.conferences: Conferences | None = None  # once started

    async def start(self, host: str = "127.0.0.1", port: int = 8080) -> str:
        """Serve on host:port (0 picks a free port); returns the base URL."""
        require_espeak()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        # No connection limit: a hundred calls post callbacks at once.
        self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        webhooks = Webhooks(self._session, self.auth_token, self.timing.http_timeout,
                            self.scenario.lost_webhooks)
        clock = Metronome()
        self.conferences = Conferences(self.account_sid, webhooks, self.spawn, clock,
                                       lambda: webhooks.session, self.data_dir)
        self._context = CallContext(
            auth_token=self.auth_token,
            webhooks=webhooks,
            voice=Synthesizer(self.data_dir / "tts-cache"),
            data_dir=self.data_dir,
            timing=self.timing,
            pacer=CallPacer(self.cps),
            spawn=self.spawn,
            base_url=lambda: self.base_url,
            clock=clock,
            place_leg=self._place_leg,
            hearing=self._hearing,
            conferences=self.conferences,
        )
        self._site_runner = web.AppRunner(build_app(self), access_log=None)
        await self._site_runner.setup()
        site = web.TCPSite(self._site_runner, host, port)
        await site.start()
        bound_port = self._site_runner.addresses[0][1]
        url_host = "127.0.0.1" if is_wildcard(host) else host
        self.base_url = f"http://{url_host}:{bound_port}"
        logger.info("Twilio emulator on %s (account %s, data in %s)",
                    self.base_url, self.account_sid, self.data_dir)
        return self.base_url

    async def stop(self) -> None:
        """End every call (final callbacks are sent, briefly), then stop serving."""
        for sid, runner in self.runners.items():
            if not self.calls[sid].status.is_final:
                runner.request_end(self._stop_status(self.calls[sid]), "emulator stopped")
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=STOP_GRACE_SECONDS)
        for task in set(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=STOP_GRACE_SECONDS)
        if self._site_runner is not None:
            await self._site_runner.cleanup()
        if self._session is not None:
            await self._session.close()
        self._hearing.close()

    @staticmethod
    def _stop_status(call: Call) -> CallStatus:
        return CallStatus.COMPLETED if call.answered_at is not None else CallStatus.CANCELED

    # -- calls ------------------------------------------------------------------------

    def place_call(self, request: CallRequest) -> Call:
        """Start a call (queued until the CPS limit lets it through)."""
        callee = self.scenario.callee_for(request.to)
        return self._start(Call(account_sid=self.account_sid, request=request), callee)

    def _place_leg(self, request: CallRequest) -> CallRunner:
        """A call dialled by another call's TwiML: placed at once (no CPS queue)."""
        return self.runners[self.place_call(request).sid]

    async def call_in(self, from_: str, to: str, script: ScriptSpec = None) -> Call:
        """A call from `from_` to the app's number `to`, as Twilio delivers it."""
        if not (is_e164(from_) and is_e164(to)):
            raise ValueError(f"numbers must be E.164 (+15551234567), got {from_!r}, {to!r}")
        request = CallRequest(
            to=to, from_=from_, direction="inbound",
            url=f"{self.app_url}/twilio/voice/", method="POST",
            status_callback=f"{self.app_url}/twilio/status/",
            status_callback_events=frozenset({"initiated", "ringing", "answered", "completed"}),
        )
        call = Call(account_sid=self.account_sid, request=request)
        call.timeline.add("call_in", from_=from_, to=to)
        return self._start(call, self._caller(from_, script))

    def _caller(self, from_: str, script: ScriptSpec) -> Callee:
        """The person placing an inbound call: the given script, or the scenario's."""
        if script is not None:
            steps = [{"say": script}] if isinstance(script, str) else script
            return Callee.parse({"name": "caller", "ring": 0, "script": steps}, {}, Path.cwd())
        for person in (self.scenario.callee_for(from_), self.scenario.fallback):
            if person.behaviour == "answer":  # busy/no-answer/... make no sense for a caller
                return replace(person, ring=0)
        return Callee(name="caller", ring=0)

    def _start(self, call: Call, callee: Callee) -> Call:
        assert self._context is not None, "start() the emulator first"
        call.callee_name = callee.name
        self.calls[call.sid] = call
        runner = self.runners[call.sid] = CallRunner(call, callee, self._context)
        runner.start()
        return call

    def call_json(self, sid: str) -> dict[str, Any] | None:
        """The call resource plus everything the emulator saw: the timeline."""
        call = self.calls.get(sid)
        if call is None:
            return None
        return {**call.to_resource(), "callee": call.callee_name,
                "end_reason": call.end_reason, "timeline": call.timeline.as_json()}

    # -- supervision ----------------------------------------------------------------------

    def spawn(self, coroutine: Coroutine[Any, Any, Any], call: Call | None = None
              ) -> asyncio.Task[Any]:
        """Run a background task whose failure is logged (on the call) but never spreads."""
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)

        def finished(done: asyncio.Task[Any]) -> None:
            self._tasks.discard(done)
            if done.cancelled() or done.exception() is None:
                return
            error = done.exception()
            logger.error("background task failed", exc_info=error)
            if call is not None:
                call.timeline.error("emulator task failed", error=repr(error),
                                    traceback="".join(traceback.format_exception(error)))

        task.add_done_callback(finished)
        return task


class EmulatorThread:
    """The emulator on its own event loop in a daemon thread, for synchronous code.

        with EmulatorThread("AC…", "token", app_url=live_server.url) as twilio:
            client.api.base_url = twilio.base_url
    """

    def __init__(self, account_sid: str, auth_token: str, host: str = "127.0.0.1",
                 port: int = 0, **options: Any) -> None:
        self.emulator = Emulator(account_sid, auth_token, **options)
        self.host, self.port = host, port
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True,
                                        name="twilio-emulator")

    @property
    def base_url(self) -> str:
        return self.emulator.base_url

    def __enter__(self) -> EmulatorThread:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> str:
        self._thread.start()
        return self._run(self.emulator.start(self.host, self.port))

    def stop(self) -> None:
        if self._thread.is_alive():
            self._run(self.emulator.stop(), timeout=15)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)
            self._loop.close()

    def _run(self, coroutine: Coroutine[Any, Any, Any], timeout: float = 30) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    async def _snapshot(self, sid: str) -> dict[str, Any] | None:
        return self.emulator.call_json(sid)

    async def _all(self) -> list[dict[str, Any]]:
        return [self.emulator.call_json(sid) or {} for sid in list(self.emulator.calls)]

    async def _conferences(self) -> list[dict[str, Any]]:
        conferences = self.emulator.conferences
        return [c.as_json() for c in conferences.all()] if conferences is not None else []

    def conferences(self) -> list[dict[str, Any]]:
        """Every conference (newest last), each with its participants and timeline."""
        return self._run(self._conferences())

    def set_number(self, phone_number: str, **fields: Any) -> dict[str, Any]:
        """Add one of the account's numbers, or change it (e.g. refuse_caller_id=21210)."""
        async def put() -> dict[str, Any]:
            number = self.emulator.numbers.put({"phone_number": phone_number, **fields})
            return number.to_resource(self.emulator.account_sid)
        return self._run(put())

    @contextlib.contextmanager
    def lose_webhooks(self, url: str, times: int | None = None, **params: str) -> Iterator[WebhookLoss]:
        """Within the block, requests to URLs matching `url` whose parameters include
        `params` fail as if the app could not be reached (the first `times` of them)."""
        loss = WebhookLoss(re.compile(url), params, times)

        async def change(add: bool) -> None:  # the list is read on the emulator's loop
            losses = self.emulator.scenario.lost_webhooks
            if add:
                losses.append(loss)
            else:
                losses.remove(loss)

        self._run(change(True))
        try:
            yield loss
        finally:
            self._run(change(False))

    def call_in(self, from_: str, to: str, script: ScriptSpec = None) -> str:
        async def place() -> str:
            return (await self.emulator.call_in(from_, to, script)).sid
        return self._run(place())

    def get_call(self, sid: str) -> dict[str, Any]:
        snapshot = self._run(self._snapshot(sid))
        if snapshot is None:
            raise KeyError(sid)
        return snapshot

    def calls(self) -> list[dict[str, Any]]:
        return self._run(self._all())

    def wait_for_status(self, sid: str, statuses: str | Iterable[str],
                        timeout: float = 30.0) -> dict[str, Any]:
        """Poll until the call reaches one of `statuses`; TimeoutError otherwise."""
        wanted = {statuses} if isinstance(statuses, str) else set(statuses)
        deadline = time.monotonic() + timeout
        while True:
            snapshot = self.get_call(sid)
            if snapshot["status"] in wanted:
                return snapshot
            if time.monotonic() > deadline:
                raise TimeoutError(f"call {sid} is {snapshot['status']}, not {sorted(wanted)}")
            time.sleep(0.05)
