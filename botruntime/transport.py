"""A Pipecat transport over a Channels WebSocket consumer, for Twilio Media Streams.

Modelled on Pipecat's FastAPI websocket transport, with three differences:

- Input is fed by the consumer (`feed`), one already-parsed message at a time, through a
  queue: the consumer's `receive` never waits on the pipeline (Pipecat issue 1919).
- Output keeps a bounded lead (`output_lead_secs`) over real time instead of pacing at
  exactly real time, so a short event-loop stall is absorbed by Twilio's buffer instead of
  becoming an audible gap; `mark`s sent after each stretch of bot audio come back when the
  caller has heard it, and at the end the transport waits for the last one before the
  serializer hangs up, so the goodbye is not cut off.
- Twilio's `stop` (which `TwilioFrameSerializer` ignores) ends the session.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable

from pipecat.frames.frames import (
    BotStoppedSpeakingFrame,
    CancelFrame,
    ClientConnectedFrame,
    EndFrame,
    Frame,
    InputAudioRawFrame,
    InterruptionFrame,
    OutputAudioRawFrame,
    OutputTransportMessageFrame,
    OutputTransportMessageUrgentFrame,
    StartFrame,
)
from pipecat.processors.frame_processor import FrameDirection, FrameProcessorSetup
from pipecat.serializers.base_serializer import FrameSerializer
from pipecat.serializers.twilio import TwilioFrameSerializer
from pipecat.transports.base_input import BaseInputTransport
from pipecat.transports.base_output import BaseOutputTransport
from pipecat.transports.base_transport import BaseTransport, TransportParams

from botruntime import observers

logger = logging.getLogger(__name__)

Send = Callable[[str], Awaitable[None]]
Close = Callable[[], Awaitable[None]]

# How much caller audio may wait for the pipeline before we drop it: 200 x 20 ms = 4 s.
INPUT_QUEUE_SIZE = 200


class ChannelsTransportParams(TransportParams):
    serializer: FrameSerializer | None = None
    # Audio sent ahead of what Twilio is playing; Twilio buffers it. More lead absorbs
    # longer stalls but makes `clear` drop more and marks arrive later.
    output_lead_secs: float = 0.16
    # Send a mark after this much bot audio, and at the end of each utterance.
    mark_every_secs: float = 1.0
    # How long to wait for the final mark before hanging up regardless.
    final_mark_timeout_secs: float = 3.0


class ChannelsClient:
    """The consumer side: where to send, how to close, and what the caller has heard."""

    def __init__(self, send: Send, close: Close):
        self._send = send
        self._close = close
        self.closed = False
        self.marks_sent = 0
        self.marks_echoed = 0
        self._mark_waiters: dict[str, asyncio.Future] = {}
        self._mark_positions: dict[str, float] = {}
        # (when, bot audio seconds sent before it) of the last mark Twilio echoed: the
        # caller had heard everything up to that position at that moment.
        self.last_echo: tuple[float, float] | None = None

    async def send(self, data: str) -> bool:
        if self.closed:
            return False
        try:
            await self._send(data)
            return True
        except Exception:
            logger.warning("media stream send failed; treating the socket as closed", exc_info=True)
            self.closed = True
            return False

    async def close(self) -> None:
        if not self.closed:
            self.closed = True
            try:
                await self._close()
            except Exception:
                logger.debug("closing the media stream failed", exc_info=True)

    def next_mark(self, position: float) -> str:
        self.marks_sent += 1
        name = f"m{self.marks_sent}"
        self._mark_waiters[name] = asyncio.get_running_loop().create_future()
        self._mark_positions[name] = position
        return name

    def mark_echoed(self, name: str) -> None:
        self.marks_echoed += 1
        position = self._mark_positions.pop(name, None)
        if position is not None:
            self.last_echo = (time.monotonic(), position)
        waiter = self._mark_waiters.pop(name, None)
        if waiter and not waiter.done():
            waiter.set_result(time.monotonic())

    async def wait_for_mark(self, name: str, timeout: float) -> bool:
        waiter = self._mark_waiters.get(name)
        if waiter is None:
            return True
        try:
            await asyncio.wait_for(asyncio.shield(waiter), timeout)
            return True
        except TimeoutError:
            return False


class _ChannelsEnd:
    """What the input and output transports share: the consumer's client and the
    serializer, which each end sets up (as Pipecat's FastAPI transport does)."""

    _params: ChannelsTransportParams

    def __init__(self, transport: ChannelsTransport, client: ChannelsClient,
                 params: ChannelsTransportParams, **kwargs):
        super().__init__(params, **kwargs)  # the base transport keeps `params` as `_params`
        self._transport = transport
        self._client = client

    async def setup(self, setup: FrameProcessorSetup):
        await super().setup(setup)
        if self._params.serializer:
            await self._params.serializer.setup(setup)


class KeepCallSerializer(TwilioFrameSerializer):
    """Pipecat's Twilio serializer, which hangs the call up when the pipeline ends unless
    the call is no longer the session's: handed over by the bot (an agent dialled in by
    `<Dial>`, a conference), or moved on by Twilio's `stop` (see `_receive_messages`)."""

    handed_over = False

    async def serialize(self, frame: Frame) -> str | bytes | None:
        if self.handed_over and isinstance(frame, EndFrame | CancelFrame):
            return None
        return await super().serialize(frame)


class ChannelsInputTransport(_ChannelsEnd, BaseInputTransport):
    def __init__(self, transport: ChannelsTransport, client: ChannelsClient,
                 params: ChannelsTransportParams, **kwargs):
        super().__init__(transport, client, params, **kwargs)
        # Only audio is bounded (INPUT_QUEUE_SIZE media messages waiting); control events
        # (stop, mark echoes, the close) are few, and each must arrive: a lost stop or close
        # leaves the session running on a dead line, a lost mark holds the final hang-up.
        self._queue: asyncio.Queue = asyncio.Queue()
        self._media_waiting = 0
        self._receive_task: asyncio.Task | None = None
        self.dropped = 0

    def feed(self, event: str, raw: str) -> None:
        """Called by the consumer; never blocks. A backed-up pipeline drops caller audio
        rather than holding the consumer (and so daphne's reads) hostage."""
        if event == "media":
            if self._media_waiting >= INPUT_QUEUE_SIZE:
                self.dropped += 1
                return
            self._media_waiting += 1
        self._queue.put_nowait((event, raw))

    async def start(self, frame: StartFrame):
        await super().start(frame)
        await self._transport.call_event("on_client_connected")
        await self.push_frame(ClientConnectedFrame())
        if not self._receive_task:
            self._receive_task = self.create_task(self._receive_messages())
        await self.set_transport_ready(frame)

    async def _stop_receiving(self):
        if self._receive_task:
            await self.cancel_task(self._receive_task)
            self._receive_task = None

    async def stop(self, frame: EndFrame):
        await super().stop(frame)
        await self._stop_receiving()

    async def cancel(self, frame: CancelFrame):
        await super().cancel(frame)
        await self._stop_receiving()

    async def cleanup(self):
        await super().cleanup()
        await self._stop_receiving()

    async def _receive_messages(self):
        serializer = self._params.serializer
        while True:
            event, raw = await self._queue.get()
            if event == "media":
                self._media_waiting -= 1
            if event == "closed":
                break
            if event == "stop":
                # Twilio ended the stream: the call is over, or new TwiML moved it on (a
                # take-over from the dashboard, a hand-off). Either way a REST hang-up now
                # would cut off whoever the call went to.
                logger.info("Twilio sent stop")
                if isinstance(serializer, KeepCallSerializer):
                    serializer.handed_over = True
                break
            if event == "mark":
                self._client.mark_echoed(raw)
                continue
            if serializer is None:
                continue
            try:
                frame = await serializer.deserialize(raw)
            except Exception:
                logger.warning("undecodable %s message dropped", event, exc_info=True)
                continue
            if frame is None:
                if event == "dtmf":  # the serializer drops a digit that is no key
                    logger.warning("ignored a dtmf message with no key in it: %r", raw[:120])
                continue
            if isinstance(frame, InputAudioRawFrame):
                await self._push_audio(frame)
            else:
                await self.push_frame(frame)
        await self._transport.call_event("on_client_disconnected")

    async def _push_audio(self, frame: InputAudioRawFrame) -> None:
        """Caller audio goes straight down the pipeline. The base class's way
        (`push_audio_frame`) queues each 20 ms frame for a task of its own, which takes it
        with a `wait_for` (a task more, per frame) only to push it on: with no audio filter
        that hop does nothing but cost CPU."""
        if self._params.audio_in_filter is not None:
            await self.push_audio_frame(frame)
        elif self._params.audio_in_enabled and self._params.audio_in_passthrough and not self._paused:
            await self.push_frame(frame)


class ChannelsOutputTransport(_ChannelsEnd, BaseOutputTransport):
    def __init__(self, transport: ChannelsTransport, client: ChannelsClient,
                 params: ChannelsTransportParams, **kwargs):
        super().__init__(transport, client, params, **kwargs)
        self._play_until = 0.0  # monotonic time at which Twilio finishes what we sent
        self._since_mark = 0.0
        self._last_mark: str | None = None
        self._sent_secs = 0.0  # bot audio written to the socket, all stretches of speech
        self._stretch_start = 0.0  # `_sent_secs` where the current stretch began
        self._stretch_sent_at = 0.0  # when its first audio was sent
        self._last_audio_at: float | None = None  # the stretch's last audio frame, for its gaps

    async def start(self, frame: StartFrame):
        await super().start(frame)
        await self.set_transport_ready(frame)

    async def stop(self, frame: EndFrame):
        # Sends what is queued (base class), then waits until the caller has heard it.
        await super().stop(frame)
        await self.played()
        await self._write_frame(frame)  # the serializer hangs up through the REST API
        await self._client.close()

    async def cancel(self, frame: CancelFrame):
        await super().cancel(frame)
        if not self._client.closed:
            await self._write_frame(frame)
        await self._client.close()

    async def played(self) -> None:
        """Until Twilio has played everything sent so far (a mark's echo says so), or it
        should have by far."""
        if self._client.closed:
            return
        await self._send_mark()
        pending = max(0.0, self._play_until - time.monotonic())
        await self._client.wait_for_mark(self._last_mark, pending + self._params.final_mark_timeout_secs)

    async def process_frame(self, frame: Frame, direction: FrameDirection):
        await super().process_frame(frame, direction)
        if isinstance(frame, InterruptionFrame):
            await self._write_frame(frame)  # `clear`: Twilio drops what it has buffered
            self._play_until = 0.0
            self._since_mark = 0.0
            self._last_audio_at = None

    async def send_message(self, frame: OutputTransportMessageFrame | OutputTransportMessageUrgentFrame):
        await self._write_frame(frame)

    async def write_audio_frame(self, frame: OutputAudioRawFrame) -> bool:
        if self._client.closed:
            return False
        duration = len(frame.audio) / (2 * self.sample_rate * max(1, frame.num_channels))
        now = time.monotonic()
        if self._play_until < now:
            self._play_until = now  # Twilio ran dry: playback restarts from now
            self._stretch_start, self._stretch_sent_at = self._sent_secs, now
            self._last_audio_at = None
        ahead = self._play_until - now
        if ahead > self._params.output_lead_secs:
            await asyncio.sleep(ahead - self._params.output_lead_secs)
        out = OutputAudioRawFrame(audio=frame.audio, sample_rate=self.sample_rate,
                                  num_channels=self._params.audio_out_channels)
        if not await self._write_frame(out):
            return False
        sent_at = time.monotonic()
        if self._last_audio_at is not None:
            observers.tell(observers.frame_gap, sent_at - self._last_audio_at)
        self._last_audio_at = sent_at
        self._play_until = max(self._play_until, sent_at) + duration
        self._sent_secs += duration
        self._since_mark += duration
        if self._since_mark >= self._params.mark_every_secs:
            await self._send_mark()
        return True

    async def _send_mark(self):
        if self._client.closed or not self._params.serializer:
            return
        self._since_mark = 0.0
        name = self._client.next_mark(self._sent_secs)
        self._last_mark = name
        stream_sid = getattr(self._params.serializer, "_stream_sid", "")
        await self._client.send(json.dumps({"event": "mark", "streamSid": stream_sid,
                                            "mark": {"name": name}}))

    def heard_secs(self) -> float:
        """How much of the current stretch of bot speech the caller has heard by now: up to
        the last mark Twilio echoed (it echoes a mark once what came before it has played)
        and on since then; before any echo, since the stretch's first audio was sent."""
        now = time.monotonic()
        echo = self._client.last_echo
        if echo is not None and echo[1] >= self._stretch_start:
            position = echo[1] + (now - echo[0])
        else:
            position = self._stretch_start + (now - self._stretch_sent_at)
        return max(0.0, min(position, self._sent_secs) - self._stretch_start)

    async def push_frame(self, frame: Frame, direction: FrameDirection = FrameDirection.DOWNSTREAM):
        await super().push_frame(frame, direction)
        if isinstance(frame, BotStoppedSpeakingFrame) and direction == FrameDirection.DOWNSTREAM:
            # The end of an utterance: the mark's echo says the caller heard all of it.
            await self._send_mark()

    async def _write_frame(self, frame: Frame) -> bool:
        if not self._params.serializer:
            return False
        try:
            payload = await self._params.serializer.serialize(frame)
        except Exception:
            logger.exception("serializing %s failed", frame)
            return False
        if payload:
            return await self._client.send(payload if isinstance(payload, str) else payload.decode())
        return True


class ChannelsTransport(BaseTransport):
    """Event handlers: on_client_connected(transport), on_client_disconnected(transport)."""

    def __init__(self, send: Send, close: Close, params: ChannelsTransportParams,
                 input_name: str | None = None, output_name: str | None = None):
        super().__init__(input_name=input_name, output_name=output_name)
        self._params = params
        self.client = ChannelsClient(send, close)
        self._input = ChannelsInputTransport(self, self.client, params, name=self._input_name)
        self._output = ChannelsOutputTransport(self, self.client, params, name=self._output_name)
        self._register_event_handler("on_client_connected")
        self._register_event_handler("on_client_disconnected")

    def input(self) -> ChannelsInputTransport:
        return self._input

    def output(self) -> ChannelsOutputTransport:
        return self._output

    def feed(self, event: str, raw: str) -> None:
        self._input.feed(event, raw)

    def disconnected(self) -> None:
        """The socket is gone: stop sending at once and let the input loop finish."""
        self.client.closed = True
        self._input.feed("closed", "")

    async def call_event(self, name: str) -> None:
        await self._call_event_handler(name)

    def stats(self) -> dict:
        return {"marks_sent": self.client.marks_sent, "marks_echoed": self.client.marks_echoed,
                "input_dropped": self._input.dropped}
