"""Fixtures for the Twilio emulator tests: the emulator, and a stand-in for the product.

These tests need no database: the product is a tiny aiohttp app plus a websockets server
running on their own event loop, recording everything "Twilio" sends and checking every
signature with twilio-python's RequestValidator, as the real product does.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import numpy as np
import pytest
from aiohttp import web
from twilio.request_validator import RequestValidator
from twilio.rest import Client
from websockets.asyncio.server import ServerConnection, serve

from twilio_emulator import EmulatorThread, Timing
from twilio_emulator.audio import pcm16_to_ulaw
from twilio_emulator.speech import Synthesizer

ACCOUNT_SID = "AC" + "1" * 32
AUTH_TOKEN = "test-auth-token-0123456789abcdef"
APP_NUMBER = "+15005550100"

BRIEFING = "Maria Lopez is interested in the gold plan and asked for a person."

# Callees by number; calls elsewhere reach the fallback, a silent listener.
SCENARIO = {
    "defaults": {"ring": 0.1, "first_turn_timeout": 0.6, "turn_silence": 0.3},
    "callees": [
        {"number": "+15005550104", "behaviour": "busy"},
        {"number": "+15005550105", "behaviour": "no-answer"},
        {"number": "+15005550106", "behaviour": "machine",
         "greeting": "Please leave a message.", "listen": 0.5},
        {"number": "+15005550108", "behaviour": "failed"},
        {"number": "+15005550111", "name": "talker",
         "script": [{"say": "Hello there"}, {"dtmf": "12"}]},
        # A caller who waits for whoever talks first (the bot, or an agent it is bridged to).
        {"number": "+15005550301", "name": "patient-caller", "first_turn_timeout": 5,
         "script": [{"say": "Hello there"}, {"dtmf": "12"}]},
        # Agents a <Dial> reaches.
        {"number": "+15005550201", "name": "agent", "ring": 0.3,
         "script": [{"say": "Hello, this is Sam."}]},
        {"number": "+15005550202", "name": "agent-away", "behaviour": "no-answer"},
        {"number": "+15005550203", "name": "agent-declines", "behaviour": "decline",
         "ring": 0.3},
        {"number": "+15005550204", "name": "agent-brief", "script": [{"hangup_after": 1.2}]},
        {"number": "+15005550205", "name": "agent-listens", "script": [
            {"expect": {"text": BRIEFING, "within": 8}}, {"say": "Thanks, put her through."}]},
        # Tells whoever it is bridged to about the customer.
        {"number": "+15005550302", "name": "briefing-caller", "first_turn_timeout": 1.5,
         "script": [{"say": BRIEFING}]},
    ],
    "fallback": {"behaviour": "answer", "name": "listener"},
}

FAST = Timing(http_timeout=3, ws_handshake_timeout=1, amd_human_seconds=0.3,
              amd_machine_start_seconds=0.3, application_error_seconds=0.2)


def ulaw_tone(seconds: float, frequency: float = 440) -> bytes:
    t = np.arange(int(seconds * 8000)) / 8000
    return pcm16_to_ulaw(8000 * np.sin(2 * np.pi * frequency * t))


@dataclass
class Received:
    path: str
    params: dict[str, str]
    signature_valid: bool
    at: float
    signature: str = ""


@dataclass
class StreamSession:
    """One Media Stream as the product's WebSocket server saw it."""

    path: str
    messages: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    sent: dict[str, float] = field(default_factory=dict)  # what we sent -> when
    closed_at: float | None = None

    def events(self, name: str) -> list[dict[str, Any]]:
        return [message for _, message in self.messages if message.get("event") == name]

    def first(self, name: str) -> tuple[float, dict[str, Any]]:
        return next((at, m) for at, m in self.messages if m.get("event") == name)


StreamBehaviour = Callable[[ServerConnection, StreamSession], Awaitable[None]]


class Product:
    """The app under test, reduced to recording webhooks and streams."""

    def __init__(self, auth_token: str) -> None:
        self.validator = RequestValidator(auth_token)
        self.received: list[Received] = []
        self.twiml: dict[str, str] = {}  # path -> TwiML it answers with
        self.streams: list[StreamSession] = []
        self.stream_behaviours: dict[str, StreamBehaviour] = {}
        self.failures_left: dict[str, int] = {}  # path -> how many more requests answer 503
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def start(self) -> Product:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(10)
        return self

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._http)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        self._ws_server = await serve(self._ws, "127.0.0.1", 0,
                                      process_request=self._check_ws_signature)
        self.ws_url = f"ws://127.0.0.1:{self._ws_server.sockets[0].getsockname()[1]}"
        # A TCP server that accepts and then never speaks: a hung WebSocket endpoint.
        self._silent = await asyncio.start_server(self._never_answer, "127.0.0.1", 0)
        self.silent_ws_url = f"ws://127.0.0.1:{self._silent.sockets[0].getsockname()[1]}/x"

    def stop(self) -> None:
        async def shutdown() -> None:
            self._ws_server.close()  # closes open streams too: wait for their handlers
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._ws_server.wait_closed(), 5)
            self._silent.close()
            await self._runner.cleanup()
        asyncio.run_coroutine_threadsafe(shutdown(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)

    async def _http(self, request: web.Request) -> web.Response:
        params = dict(await request.post())
        url = f"{self.url}{request.path_qs}"
        signature = request.headers.get("X-Twilio-Signature", "")
        valid = self.validator.validate(url, params, signature)
        self.received.append(Received(request.path, params, valid, time.monotonic(), signature))
        if request.path.startswith("/fail"):
            return web.Response(status=500, text="boom")
        if self.failures_left.get(request.path, 0) > 0:
            self.failures_left[request.path] -= 1
            return web.Response(status=503, text="down for a moment")
        if request.path in self.twiml:
            return web.Response(text=self.twiml[request.path], content_type="text/xml")
        return web.Response(text="<Response/>", content_type="text/xml")

    async def _check_ws_signature(self, connection: ServerConnection, request: Any) -> Any:
        parts = urlsplit(request.path)
        url = f"{self.ws_url}{parts.path}"
        params = dict(parse_qsl(parts.query))
        if not self.validator.validate(url, params, request.headers.get("X-Twilio-Signature", "")):
            return connection.respond(HTTPStatus.FORBIDDEN, "bad signature\n")
        return None

    async def _ws(self, websocket: ServerConnection) -> None:
        path = websocket.request.path
        session = StreamSession(path)
        self.streams.append(session)

        async def record() -> None:
            async for raw in websocket:
                session.messages.append((time.monotonic(), json.loads(raw)))

        recorder = asyncio.ensure_future(record())
        behaviour = self.stream_behaviours.get(urlsplit(path).path)
        try:
            if behaviour is None:
                await recorder
            else:
                await behaviour(websocket, session)
        finally:
            recorder.cancel()
            session.closed_at = time.monotonic()

    async def _never_answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # swallow the handshake, answer nothing, until the client gives up
        writer.close()

    # -- what tests read --------------------------------------------------------------

    def callbacks(self, path: str, call_sid: str | None = None) -> list[Received]:
        return [r for r in self.received
                if r.path == path and (call_sid is None or r.params.get("CallSid") == call_sid)]

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.05)
        raise AssertionError("condition not met in time")


@pytest.fixture
def product() -> Iterator[Product]:
    app = Product(AUTH_TOKEN).start()
    yield app
    app.stop()


def make_emulator(product: Product, tmp_path: Any, **options: Any) -> EmulatorThread:
    options = {"app_url": product.url, "scenario": SCENARIO, "cps": 0,
               "data_dir": tmp_path, "timing": FAST, **options}
    return EmulatorThread(ACCOUNT_SID, AUTH_TOKEN, **options)


@pytest.fixture
def emulator(product: Product, tmp_path: Any) -> Iterator[EmulatorThread]:
    with make_emulator(product, tmp_path) as running:
        yield running


@pytest.fixture
def client(emulator: EmulatorThread) -> Client:
    twilio = Client(ACCOUNT_SID, AUTH_TOKEN)
    twilio.api.base_url = emulator.base_url  # how twilio-python 9 picks the API host
    return twilio


def b64_frames(audio: bytes) -> list[str]:
    return [base64.b64encode(audio[i:i + 160]).decode() for i in range(0, len(audio), 160)]


def speaking_bot(text: str, cache_dir: Any) -> StreamBehaviour:
    """A bot that says `text` once (Piper's voice) and keeps the stream open until `stop`."""
    async def behaviour(websocket: ServerConnection, session: StreamSession) -> None:
        audio = await Synthesizer(cache_dir).ulaw(text, "piper")
        while not session.events("start"):
            await asyncio.sleep(0.01)
        sid = session.events("start")[0]["streamSid"]
        for payload in b64_frames(audio):
            await websocket.send(json.dumps({"event": "media", "streamSid": sid,
                                             "media": {"payload": payload}}))
        while not session.events("stop"):
            await asyncio.sleep(0.05)
    return behaviour


def stream_to(product: Product, path: str) -> str:
    return f"<Response><Connect><Stream url='{product.ws_url}{path}'/></Connect></Response>"
