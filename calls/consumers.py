"""Twilio's Media Stream socket (`<Connect><Stream>`), handed to the bot runtime.

Thin on purpose: check Twilio's signature before accepting, read `connected`/`start`, start
the bot session as its own task, then only pass messages to its transport. Nothing here
awaits the pipeline (a consumer's handlers run one message at a time; see Pipecat issue 1919).
"""

import asyncio
import json
import logging
from urllib.parse import parse_qsl

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.db import DatabaseError
from django.utils import timezone

from botruntime import warm_up
from botruntime.session import BotSession, StreamStart
from botruntime.transport import ChannelsTransport
from calls import capacity, metrics
from calls.bot_store import DatabaseCallStore
from calls.listening import AudioTap
from calls.live import bot_group
from calls.models import Call
from calls.twilio_auth import is_signed_by_twilio, public_websocket_url

logger = logging.getLogger(__name__)

# Shared models load at start-up, not in the first call on the event loop.
warm_up()

# A media message is ~300 bytes; anything near this is not from Twilio.
MAX_MESSAGE_BYTES = 64 * 1024
PASSED_EVENTS = frozenset({"media", "mark", "dtmf", "stop"})
MAX_LOGGED_GARBAGE = 5
# The WebSocket close code for "try again later"; sent before accepting, our web server
# (dialer_site.web_server) answers the upgrade 503 so a proxy tries another process.
TRY_AGAIN_LATER = 1013
# Three beats per reconcile margin: one late beat never makes a live call look silent.
HEARTBEAT_SECONDS = settings.RECONCILE_MARGIN_SECONDS / 3


def _heard_from(call_sid: str) -> None:
    Call.objects.live().filter(call_sid=call_sid).update(last_heard_at=timezone.now())


class BotStreamConsumer(AsyncWebsocketConsumer):
    """A socket carrying Media Streams messages to and from a bot session: Twilio's
    (MediaStreamConsumer), or a staff member's browser speaking the same protocol
    (calls.talk_consumer). Subclasses decide who may connect and how the session starts."""

    session: BotSession | None = None
    transport: ChannelsTransport | None = None
    heartbeat: asyncio.Task | None = None
    admitted: capacity.Stream | None = None
    garbage = 0

    async def __call__(self, scope, receive, send):
        # Every way out — a disconnect, a close, the consumer dying (e.g. the channel layer
        # fails) — passes here: the session learns once that its socket is gone.
        try:
            await super().__call__(scope, receive, send)
        finally:
            if self.heartbeat is not None:
                self.heartbeat.cancel()
            if self.transport is not None:
                self.transport.disconnected()
            self._release()

    def _release(self) -> None:
        """The call holds its place until its session has stored everything (transcript,
        summary, recording: after the socket closed), so a draining process waits for that."""
        if self.admitted is None:
            return
        task = self.session.task if self.session is not None else None
        if task is not None and not task.done():
            task.add_done_callback(self.admitted.release)
        else:
            self.admitted.release()

    async def _beat(self, call_sid: str) -> None:
        """While the stream is open the call is alive: say so, so that the reaper fetches it
        from Twilio only once this stops (the stream ended, or this process died)."""
        while True:
            try:
                await database_sync_to_async(_heard_from)(call_sid)
            except DatabaseError:
                logger.warning("Could not record that call %s is alive", call_sid, exc_info=True)
            await asyncio.sleep(HEARTBEAT_SECONDS)

    async def dispatch(self, message):
        # Channels closes stale database connections before every handler, through a hop
        # to the sync thread: for media that is 50 hops a second per call. Receiving never
        # touches the ORM; the session's database work goes through
        # `database_sync_to_async`, which does that cleanup in the thread it uses.
        if message["type"] == "websocket.receive":
            await self.websocket_receive(message)
        else:
            await super().dispatch(message)

    async def _admit(self) -> bool:
        """Take a place in this process's capacity and accept, or refuse (try again later)."""
        admitted = capacity.this_process().admit()
        if isinstance(admitted, capacity.Refusal):
            metrics.STREAMS_REFUSED.labels(admitted.reason).inc()
            logger.warning("Refused a media stream: %s; the calls it holds go on", admitted.text,
                           extra={"reason": admitted.reason, "live": capacity.this_process().live})
            await self.close(code=TRY_AGAIN_LATER)
            return False
        self.admitted = admitted
        metrics.STREAMS_ACCEPTED.inc()
        await self.accept()
        return True

    async def receive(self, text_data=None, bytes_data=None):
        raw = text_data if text_data is not None else (bytes_data or b"").decode("utf-8", "replace")
        if len(raw) > MAX_MESSAGE_BYTES:
            return self._drop(raw, f"{len(raw)}-byte message")
        try:
            message = json.loads(raw)
            event = message["event"]
        except (ValueError, TypeError, KeyError):
            return self._drop(raw, "not a Media Streams message")
        if event == "connected":
            return None
        if event == "start":
            return await self._start(message, raw)
        if event not in PASSED_EVENTS:
            return self._drop(raw, f"unknown event {event!r}")
        if self.transport is None:
            return self._drop(raw, f"{event!r} before start")
        if event == "mark":
            mark = message.get("mark")
            name = mark.get("name") if isinstance(mark, dict) else None
            if isinstance(name, str):
                self.transport.feed("mark", name)
            return None
        self.transport.feed(event, raw)
        return None

    async def _start(self, message: dict, raw: str):
        raise NotImplementedError

    async def _join(self, group: str) -> None:
        await self.channel_layer.group_add(group, self.channel_name)
        self.groups.append(group)  # the base class leaves self.groups on disconnect

    def _begin(self, info: StreamStart, store, **options) -> BotSession:
        """Start the bot session on this socket (and the heartbeat that says it is alive)."""
        self.session = BotSession.over_channels(info, self._send_text, self._close, store=store, **options)
        self.transport = self.session.transport
        self.heartbeat = asyncio.create_task(self._beat(info.call_sid))
        return self.session

    async def _send_text(self, data: str) -> None:
        await self.send(text_data=data)

    async def _close(self) -> None:
        await self.close()

    def _drop(self, raw: str, problem: str) -> None:
        self.garbage += 1
        if self.garbage <= MAX_LOGGED_GARBAGE:
            logger.warning("Dropped a media stream frame: %s (%r)", problem, raw[:80])



class MediaStreamConsumer(BotStreamConsumer):
    """Twilio's side: signed, and its `start` names the call."""

    tap: AudioTap | None = None

    async def connect(self):
        headers = dict(self.scope.get("headers", []))
        signature = headers.get(b"x-twilio-signature", b"").decode("latin-1") or None
        url = public_websocket_url(self.scope["path"])
        params = dict(parse_qsl(self.scope.get("query_string", b"").decode("latin-1")))
        if not is_signed_by_twilio(url, params, signature):
            logger.warning("Refused a media stream with a %s signature",
                           "wrong" if signature else "missing", extra={"url": url})
            await self.close(code=1008)
            return
        await self._admit()

    async def _start(self, message: dict, raw: str):
        if self.session is not None:
            return self._drop(raw, "second start")
        info = StreamStart.from_twilio(message.get("start"))
        if info is None:
            return self._drop(raw, "start without callSid/streamSid")
        await self._join(bot_group(info.call_sid))
        self._begin(info, DatabaseCallStore())
        self.tap = AudioTap(self.channel_layer, info.call_sid, self.session)
        return None

    # -- group events (calls.live.tell_bot) ------------------------------------------------

    async def disconnect(self, code):
        if self.tap is not None:
            await self.tap.close()

    async def listen_start(self, event):
        """A staff page listens in (again: requests lapse unless renewed, calls.listening)."""
        if self.tap is not None:
            self.tap.start(str(event["listener"]))

    async def listen_stop(self, event):
        if self.tap is not None:
            self.tap.stop(str(event["listener"]))

    async def amd_result(self, event):
        if self.session is not None:
            self.session.spawn(self.session.answered_by(str(event.get("answered_by", ""))))
