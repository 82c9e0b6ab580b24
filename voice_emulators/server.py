"""The server the three emulated services share: the control API under /_emulator/ (faults
on demand, the log), the app with every service's routes, and a thread runner for synchronous
tests. The shared state is voice_emulators.state."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Coroutine
from dataclasses import asdict
from pathlib import Path
from typing import Any

from aiohttp import web

from . import cartesia, deepgram, openai_chat
from .state import SERVICES, STATE, Fault, State, state_of

logger = logging.getLogger(__name__)

routes = web.RouteTableDef()


@routes.get("/_emulator/health")
async def health(_request: web.Request) -> web.Response:
    return web.json_response({"ok": True, "services": list(SERVICES)})


@routes.post("/_emulator/faults")
async def add_fault(request: web.Request) -> web.Response:
    try:
        body = await request.json()
        fault = Fault(**body)
    except (ValueError, TypeError) as exc:
        return web.json_response({"error": str(exc)}, status=400)
    state_of(request).faults.append(fault)
    return web.json_response(asdict(fault), status=201)


@routes.delete("/_emulator/faults")
async def clear_faults(request: web.Request) -> web.Response:
    state_of(request).faults.clear()
    return web.Response(status=204)


@routes.get("/_emulator/log")
async def log(request: web.Request) -> web.Response:
    service = request.query.get("service")
    entries = [e for e in state_of(request).log if not service or e["service"] == service]
    return web.json_response(entries)


def build_app(state: State, rules: Path | None = None) -> web.Application:
    app = web.Application()
    app[STATE] = state
    app.add_routes(routes)
    app.add_routes(deepgram.routes)
    app.add_routes(cartesia.routes)
    openai_chat.install(app, rules)
    return app


class VoiceEmulators:
    """The three services on one server. `api_key` empty: any non-empty key is accepted."""

    def __init__(self, api_key: str = "", rules: Path | None = None) -> None:
        self.state = State(api_key=api_key)
        self.rules = rules
        self.base_url = ""
        self._runner: web.AppRunner | None = None

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        from twilio_emulator.emulator import is_wildcard
        from twilio_emulator.speech import require_espeak

        require_espeak()
        self._runner = web.AppRunner(build_app(self.state, self.rules), access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        bound = self._runner.addresses[0][1]
        self.base_url = f"http://{'127.0.0.1' if is_wildcard(host) else host}:{bound}"
        logger.info("voice emulators on %s", self.base_url)
        return self.base_url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


class VoiceEmulatorsThread:
    """The emulators on their own event loop in a daemon thread, for synchronous tests."""

    def __init__(self, api_key: str = "", rules: Path | None = None) -> None:
        self.emulators = VoiceEmulators(api_key, rules)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True,
                                        name="voice-emulators")

    @property
    def base_url(self) -> str:
        return self.emulators.base_url

    def __enter__(self) -> VoiceEmulatorsThread:
        self._thread.start()
        self._run(self.emulators.start())
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._run(self.emulators.stop(), timeout=15)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()

    def _run(self, coroutine: Coroutine[Any, Any, Any], timeout: float = 30) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    def inject(self, service: str, kind: str, **options: Any) -> None:
        fault = Fault(service, kind, **options)
        self._loop.call_soon_threadsafe(self.emulators.state.faults.append, fault)

    def clear_faults(self) -> None:
        self._loop.call_soon_threadsafe(self.emulators.state.faults.clear)

    def log(self, service: str | None = None, event: str | None = None) -> list[dict]:
        entries = list(self.emulators.state.log)
        return [e for e in entries if (not service or e["service"] == service)
                and (not event or e["event"] == event)]
