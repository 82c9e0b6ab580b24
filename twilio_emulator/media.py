"""The Media Streams WebSocket client: Twilio's side of `<Connect><Stream>`.

Sends the callee's audio (`media` every 20 ms, driven by the call's Line clock) and
plays what the app sends back through the Line's playout buffer, echoing `mark`s once
the audio before them has played and handling `clear` (barge-in).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from .formats import new_sid
from .line import Line
from .signing import SIGNATURE_HEADER, sign_websocket
from .timeline import Timeline

# Garbage from the app is logged, but only this many times per stream (then counted).
MAX_LOGGED_GARBAGE = 5
STOP_TIMEOUT_SECONDS = 2.0

# Reports stream-started / stream-stopped / stream-error (the <Stream statusCallback>).
StreamEvent = Callable[[str, dict[str, str]], None]


class MediaStream:
    def __init__(self, *, account_sid: str, call_sid: str, url: str,
                 custom_parameters: dict[str, str], line: Line, timeline: Timeline,
                 auth_token: str, app_audio_path: Path, handshake_timeout: float,
                 on_event: StreamEvent | None = None) -> None:
        self.account_sid = account_sid
        self.call_sid = call_sid
        self.url = url
        self.custom_parameters = custom_parameters
        self.line = line
        self.timeline = timeline
        self.auth_token = auth_token
        self.app_audio_path = app_audio_path
        self.handshake_timeout = handshake_timeout
        self.on_event = on_event
        self.stream_sid = new_sid("MZ")
        self._ws: ClientConnection | None = None
        self._sequence = 0
        self._chunk = 0
        self._started = time.monotonic()
        self._garbage = 0
        self._send_failed = False

    async def run(self) -> None:
        """Connect, stream until the app closes the socket, always send `stop` at the end.

        Returns normally whatever the app does; only cancellation (the call ended)
        propagates, after `stop` has been sent.
        """
        if self.url.startswith("ws://"):
            self.timeline.add("stream_insecure_url", url=self.url,
                              note="ws:// accepted for local use; real Twilio requires wss://")
        try:
            self._ws = await websockets.connect(
                self.url,
                additional_headers={SIGNATURE_HEADER: sign_websocket(self.auth_token, self.url)},
                user_agent_header="Twilio.TmeWs/1.0",
                open_timeout=self.handshake_timeout,
                ping_interval=None,  # Twilio does not ping; the app may
                compression=None,
                max_size=2**20,
            )
        except (TimeoutError, OSError, InvalidHandshake, InvalidURI) as exc:
            # 31920: Stream - WebSocket - Handshake Error.
            self.timeline.error("stream handshake failed", code=31920, url=self.url,
                                error=f"{type(exc).__name__}: {exc}")
            self._emit("stream-error", StreamError=f"handshake failed: {exc}")
            return

        self.timeline.add("stream_connected", url=self.url, stream_sid=self.stream_sid,
                          custom_parameters=self.custom_parameters)
        try:
            await self._send({"event": "connected", "protocol": "Call", "version": "1.0.0"})
            await self._send(self._with_sequence({"event": "start", "start": {
                "accountSid": self.account_sid,
                "streamSid": self.stream_sid,
                "callSid": self.call_sid,
                "tracks": ["inbound"],
                "customParameters": self.custom_parameters,
                "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
            }}))
            self._started = time.monotonic()
            self._emit("stream-started")
            wav = self.line.attach(self, self.app_audio_path)
            self.timeline.add("audio_received", wav=str(wav))
            await self._receive_until_closed()
        finally:
            self.line.detach(self)
            await self._stop()

    # -- StreamPort: called by the Line's clock ------------------------------------

    async def send_media(self, frame: bytes) -> None:
        # The hottest path (50 messages a second per call): formatted directly instead of
        # json.dumps; every value is digits, base64 or a SID, so nothing needs escaping.
        if self._ws is None or self._send_failed:
            return
        self._chunk += 1
        self._sequence += 1
        timestamp = int((time.monotonic() - self._started) * 1000)
        payload = base64.b64encode(frame).decode("ascii")
        await self._send_text("media", (
            f'{{"event":"media","sequenceNumber":"{self._sequence}","media":{{"track":"inbound",'
            f'"chunk":"{self._chunk}","timestamp":"{timestamp}","payload":"{payload}"}},'
            f'"streamSid":"{self.stream_sid}"}}'))

    async def send_mark(self, name: str) -> None:
        self.timeline.add("mark_echoed", name=name)
        await self._send(self._with_sequence({"event": "mark", "mark": {"name": name}}))

    async def send_dtmf(self, digit: str) -> None:
        await self._send(self._with_sequence(
            {"event": "dtmf", "dtmf": {"track": "inbound_track", "digit": digit}}))

    # -- internals ------------------------------------------------------------------------

    def _with_sequence(self, message: dict[str, Any]) -> dict[str, Any]:
        self._sequence += 1
        return {**message, "sequenceNumber": str(self._sequence), "streamSid": self.stream_sid}

    async def _send(self, message: dict[str, Any]) -> None:
        await self._send_text(message["event"], json.dumps(message))

    async def _send_text(self, event: str, text: str) -> None:
        if self._ws is None or self._send_failed:
            return
        try:
            await self._ws.send(text)
            self.timeline.ws_sent[event] += 1
        except ConnectionClosed:
            # The receive loop sees the close too and ends the <Connect>; nothing to do here.
            self._send_failed = True

    async def _receive_until_closed(self) -> None:
        assert self._ws is not None
        try:
            async for message in self._ws:
                await self._handle(message)
        except ConnectionClosed:
            pass
        self.timeline.add("stream_closed_by_app", code=self._ws.close_code,
                          reason=self._ws.close_reason or "")

    async def _handle(self, message: str | bytes) -> None:
        try:
            data = json.loads(message)
            event = data["event"]
        except (ValueError, TypeError, KeyError) as exc:
            self._log_garbage(message, f"not a Twilio stream message: {exc}")
            return
        self.timeline.ws_received[str(event)] += 1
        try:
            if event == "media":
                self.line.playout.enqueue(base64.b64decode(data["media"]["payload"],
                                                           validate=True))
            elif event == "mark":
                self.line.playout.add_mark(str(data["mark"]["name"]))
            elif event == "clear":
                unplayed = self.line.playout.pending_seconds
                echoed = self.line.playout.clear()
                self.timeline.add("stream_clear", dropped_seconds=round(unplayed, 3),
                                  echoed_marks=echoed)
                for name in echoed:
                    await self.send_mark(name)
            else:
                self._log_garbage(message, f"unknown event {event!r}")
        except (KeyError, TypeError, binascii.Error) as exc:
            self._log_garbage(message, f"malformed {event!r} message: {exc}")

    def _log_garbage(self, message: str | bytes, problem: str) -> None:
        self._garbage += 1
        self.timeline.ws_received["invalid"] += 1
        if self._garbage <= MAX_LOGGED_GARBAGE:
            # 31951: Stream - Protocol - Invalid Message.
            self.timeline.error("invalid message from app", code=31951, problem=problem,
                                sample=repr(message[:120]))

    async def _stop(self) -> None:
        """Send `stop` and close; bounded so a stuck socket cannot hold the call open."""
        if self._ws is None:
            return
        try:
            async with asyncio.timeout(STOP_TIMEOUT_SECONDS):
                await self._send(self._with_sequence({"event": "stop", "stop": {
                    "accountSid": self.account_sid, "callSid": self.call_sid}}))
                await self._ws.close()
        except (TimeoutError, OSError):
            self.timeline.add("stream_close_timeout")
        self._emit("stream-stopped")
        self.timeline.add("stream_ended", stream_sid=self.stream_sid)

    def _emit(self, event: str, **extra: str) -> None:
        if self.on_event is not None:
            self.on_event(event, {"StreamSid": self.stream_sid, **extra})
