"""Deepgram live transcription: the WebSocket at /v1/listen.

Audio in (binary messages, `encoding`/`sample_rate` from the query), JSON out: `Results`
(interim and final, `speech_final` at an endpoint, `from_finalize` after `Finalize`),
`SpeechStarted` (vad_events), `UtteranceEnd` (utterance_end_ms), `Metadata` on
`CloseStream`. Speech is found with an energy detector and decoded by pocketsphinx in the
bot runtime's process pool — with the packaged open English model, or, when the client
sends `keyterm`/`keywords`, a model built from those terms (see README: a divergence).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
from aiohttp import WSMsgType, web

from botruntime import asr
from twilio_emulator.audio import SPEECH_RMS, ulaw_to_pcm16

from .state import State, state_of

logger = logging.getLogger(__name__)
routes = web.RouteTableDef()

SERVICE = "deepgram"
ENCODINGS = ("linear16", "mulaw")
BLOCK_SECS = 0.02  # the energy detector's step
# An energy detector dips between words, and espeak-ng pauses 0.45 s at a full stop: speech
# ends after this much quiet, to which `endpointing` (Deepgram's default 10 ms) is added.
# Deepgram's own VAD ends it sooner; cut shorter, sentences decode worse here (README).
QUIET_TO_END_SECS = 0.5
# With endpointing=false a stretch of speech is still finalised after this much quiet.
QUIET_TO_FINALISE_SECS = 1.0
ROLL_SECS = 0.2  # audio kept either side of what the energy detector calls speech
INTERIM_EVERY_SECS = 1.0
IDLE_TIMEOUT_SECS = 10.0  # no audio and no message for this long: close 1011 (NET-0001)
DEFAULT_DROP_AFTER_SECS = 0.5
# Decoding processes (the bot runtime's pool; in a test process it is shared with the bot).
DECODE_WORKERS = max(1, min(2, os.cpu_count() or 1))
CONFIDENCE = 0.9  # pocketsphinx's posteriors are not comparable with Deepgram's scores


class BadRequest(ValueError):
    """A query parameter Deepgram would refuse at the handshake (HTTP 400)."""


def _flag(query, name: str, default: bool) -> bool:
    value = query.get(name)
    if value is None:
        return default
    if value.lower() not in ("true", "false"):
        raise BadRequest(f"Invalid value for {name}: {value!r} (true or false)")
    return value.lower() == "true"


def _whole(query, name: str, default: int | None) -> int | None:
    value = query.get(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise BadRequest(f"Invalid value for {name}: {value!r}") from None


@dataclass
class Options:
    encoding: str = "linear16"
    sample_rate: int = 16000
    channels: int = 1
    model: str = "base"
    interim_results: bool = False
    endpointing_ms: int | None = 10  # None: endpointing=false
    utterance_end_ms: int | None = None
    vad_events: bool = False
    punctuate: bool = False
    keyterms: tuple[str, ...] = ()

    @classmethod
    def from_query(cls, query) -> Options:
        encoding = query.get("encoding", "linear16")
        if encoding not in ENCODINGS:
            raise BadRequest(f"The emulator decodes only {', '.join(ENCODINGS)}, not {encoding!r}")
        if "encoding" in query and "sample_rate" not in query:
            raise BadRequest("sample_rate is required when encoding is set")
        channels = _whole(query, "channels", 1)
        if channels != 1:
            raise BadRequest("The emulator transcribes one channel only")
        endpointing = query.get("endpointing", "10")
        if endpointing.lower() == "false":
            endpointing_ms = None
        elif endpointing.lower() == "true":
            endpointing_ms = 10
        else:
            endpointing_ms = _whole(query, "endpointing", 10)
        terms = query.getall("keyterm", []) + [k.rsplit(":", 1)[0] for k in query.getall("keywords", [])]
        return cls(
            encoding=encoding,
            sample_rate=_whole(query, "sample_rate", 16000) or 16000,
            channels=1,
            model=query.get("model", "base"),
            interim_results=_flag(query, "interim_results", False),
            endpointing_ms=endpointing_ms,
            utterance_end_ms=_whole(query, "utterance_end_ms", None),
            vad_events=_flag(query, "vad_events", False),
            punctuate=_flag(query, "punctuate", False) or _flag(query, "smart_format", False),
            keyterms=tuple(dict.fromkeys(t for t in (asr.normalize(k) for k in terms) if t)),
        )


def refusal(status: int, code: str, message: str, request_id: str) -> web.Response:
    """How Deepgram refuses a handshake: an HTTP error, the reason in `dg-error` too."""
    return web.json_response(
        {"err_code": code, "err_msg": message, "request_id": request_id}, status=status,
        headers={"dg-error": message, "dg-request-id": request_id},
    )


def given_key(request: web.Request) -> tuple[str | None, str | None]:
    """(key, subprotocol): from `Authorization: Token|Bearer …` or `Sec-WebSocket-Protocol:
    token, …` (for browsers, which cannot set headers)."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() in ("token", "bearer") and value.strip():
        return value.strip(), None
    protocols = [p.strip() for p in request.headers.get("Sec-WebSocket-Protocol", "").split(",")]
    if len(protocols) == 2 and protocols[0].lower() in ("token", "bearer"):
        return protocols[1], protocols[0]
    return None, None


@routes.get("/v1/listen")
async def listen(request: web.Request) -> web.StreamResponse:
    state = state_of(request)
    request_id = str(uuid.uuid4())
    key, subprotocol = given_key(request)
    if not state.key_ok(key) or state.take_fault(SERVICE, "reject_key"):
        state.note(SERVICE, "rejected", status=401)
        return refusal(401, "INVALID_AUTH", "Invalid credentials.", request_id)
    fault = state.take_fault(SERVICE, "rate_limit")
    if fault:
        state.note(SERVICE, "rejected", status=429)
        response = refusal(429, "TOO_MANY_REQUESTS", "Too many requests. Please try again later",
                           request_id)
        response.headers["Retry-After"] = str(fault.retry_after)
        return response
    try:
        options = Options.from_query(request.query)
    except BadRequest as exc:
        state.note(SERVICE, "rejected", status=400, reason=str(exc))
        return refusal(400, "Bad Request", str(exc), request_id)

    socket = web.WebSocketResponse(protocols=(subprotocol,) if subprotocol else (),
                                   autoping=True, heartbeat=None)
    socket.headers["dg-request-id"] = request_id
    await socket.prepare(request)
    session = ListenSession(socket, options, state, request_id,
                            drop=state.take_fault(SERVICE, "drop"),
                            slow=state.take_fault(SERVICE, "slow_first_byte"))
    state.note(SERVICE, "connected", request_id=request_id, query=dict(request.query))
    await session.run(request)
    return socket


@dataclass
class Segment:
    start: int  # sample index of the first voiced block
    last_voice: int  # sample index just past the last voiced block
    interim_sent_at: int = 0


@dataclass
class ListenSession:
    socket: web.WebSocketResponse
    options: Options
    state: State
    request_id: str
    drop: object = None
    slow: object = None
    audio: bytearray = field(default_factory=bytearray)  # 16-bit PCM, the whole stream
    analysed: int = 0  # samples the energy detector has looked at
    segment: Segment | None = None
    last_word_end: float | None = None
    utterance_end_pending: bool = False
    jobs: asyncio.Queue = field(default_factory=asyncio.Queue)
    last_activity: float = field(default_factory=time.monotonic)
    results_sent: int = 0
    interim_busy: bool = False
    model_uuid: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def rate(self) -> int:
        return self.options.sample_rate

    @property
    def samples(self) -> int:
        return len(self.audio) // 2

    def seconds(self, samples: int) -> float:
        return round(samples / self.rate, 3)

    # -- the connection ---------------------------------------------------------------

    async def run(self, request: web.Request) -> None:
        sender = asyncio.create_task(self._send_results())
        watchdog = asyncio.create_task(self._watch_idle())
        try:
            async for message in self.socket:
                self.last_activity = time.monotonic()
                if message.type == WSMsgType.BINARY:
                    if not message.data:
                        # An empty binary message is the old way to say CloseStream.
                        await self._close_stream()
                        break
                    if self._feed(message.data, request):
                        break
                elif message.type == WSMsgType.TEXT:
                    if await self._control(message.data):
                        break
                else:
                    break
        finally:
            watchdog.cancel()
            sender.cancel()
            self.state.note(SERVICE, "closed", request_id=self.request_id,
                            audio_secs=self.seconds(self.samples))

    async def _control(self, text: str) -> bool:
        """A JSON control message; True when the stream is over."""
        try:
            kind = json.loads(text).get("type")
        except (ValueError, AttributeError):
            kind = None
        self.state.note(SERVICE, "message", type=kind)
        if kind == "KeepAlive":
            return False
        if kind == "Finalize":
            self._end_segment(finalize=True)
            return False
        if kind == "CloseStream":
            await self._close_stream()
            return True
        await self.socket.close(code=1008, message=b"DATA-0000: The payload cannot be decoded")
        return True

    async def _close_stream(self) -> None:
        """Flush what is pending, send the summary `Metadata`, close normally."""
        self._end_segment(finalize=False, endpoint=False)
        done = asyncio.get_running_loop().create_future()
        await self.jobs.put(("metadata", done))
        await done
        await self.socket.close(code=1000)

    async def _watch_idle(self) -> None:
        while not self.socket.closed:
            await asyncio.sleep(0.5)
            if time.monotonic() - self.last_activity > IDLE_TIMEOUT_SECS:
                self.state.note(SERVICE, "timeout")
                await self.socket.close(code=1011, message=(
                    b"Deepgram did not receive audio data or a text message within the "
                    b"timeout window. See https://dpgr.am/net0001"))
                return

    # -- audio ------------------------------------------------------------------------

    def _feed(self, data: bytes, request: web.Request) -> bool:
        """Take audio in; True if the socket was dropped (a fault)."""
        if self.options.encoding == "mulaw":
            data = ulaw_to_pcm16(data).astype("<i2").tobytes()
        block = int(self.rate * BLOCK_SECS)
        self.audio += data[: len(data) - len(data) % 2]
        while self.analysed + block <= self.samples:
            samples = np.frombuffer(self.audio, dtype="<i2", count=block, offset=self.analysed * 2)
            self.analysed += block
            self._step(self.analysed, float(np.sqrt(np.mean(samples.astype(np.float64) ** 2))) > SPEECH_RMS)
        if self.drop and self.segment and self.samples - self.segment.start > self.rate * (
                self.drop.seconds or DEFAULT_DROP_AFTER_SECS):
            self.state.note(SERVICE, "dropped")
            request.transport.close()  # no close frame: the connection just goes away
            return True
        return False

    def _step(self, at: int, voiced: bool) -> None:
        segment = self.segment
        if voiced:
            if segment is None:
                self.segment = Segment(start=at - int(self.rate * BLOCK_SECS), last_voice=at)
                self.utterance_end_pending = False
                if self.options.vad_events:
                    self._queue_message({"type": "SpeechStarted", "channel": [0],
                                         "timestamp": self.seconds(self.segment.start)})
            else:
                segment.last_voice = at
            segment = self.segment
            if (self.options.interim_results and not self.interim_busy
                    and at - max(segment.interim_sent_at, segment.start) >= self.rate * INTERIM_EVERY_SECS):
                segment.interim_sent_at = at
                self.interim_busy = True
                self.jobs.put_nowait(("interim", (segment.start, at)))
            return
        if segment is None:
            message = self._utterance_end(at)
            if message:
                self._queue_message(message)
            return
        quiet = (at - segment.last_voice) / self.rate
        endpointing = self.options.endpointing_ms
        if endpointing is not None and quiet >= QUIET_TO_END_SECS + endpointing / 1000:
            self._end_segment(finalize=False, endpoint=True)
        elif endpointing is None and quiet >= QUIET_TO_FINALISE_SECS:
            self._end_segment(finalize=False, endpoint=False)

    def _utterance_end(self, at: int) -> dict | None:
        """`UtteranceEnd` once the audio has gone utterance_end_ms past the last word."""
        wanted = self.options.utterance_end_ms
        if (wanted and self.options.interim_results and self.utterance_end_pending
                and self.last_word_end is not None
                and at / self.rate - self.last_word_end >= wanted / 1000):
            self.utterance_end_pending = False
            return {"type": "UtteranceEnd", "channel": [0, 1], "last_word_end": self.last_word_end}
        return None

    def _end_segment(self, *, finalize: bool, endpoint: bool = False) -> None:
        segment, self.segment = self.segment, None
        span = None
        if segment is not None:
            roll = int(self.rate * ROLL_SECS)
            span = (max(0, segment.start - roll),
                    min(self.samples, segment.last_voice + roll) if not finalize else self.samples)
        if span is not None or finalize:
            self.jobs.put_nowait(("final", (span, endpoint, finalize)))

    def _queue_message(self, message: dict) -> None:
        self.jobs.put_nowait(("message", message))

    # -- results, in order ------------------------------------------------------------

    async def _send_results(self) -> None:
        while True:
            kind, payload = await self.jobs.get()
            try:
                if kind == "message":
                    await self._send(payload)
                elif kind == "interim":
                    start, end = payload
                    words = await self._recognise(start, end)
                    self.interim_busy = False
                    if words:
                        await self._send(self._results(start, end, words, is_final=False))
                elif kind == "final":
                    await self._final(*payload)
                elif kind == "metadata":
                    await self._send(self._metadata())
                    payload.set_result(None)
            except ConnectionResetError:
                return
            except Exception:
                logger.exception("deepgram emulator: %s job failed", kind)
                if kind == "metadata":
                    payload.set_result(None)

    async def _final(self, span, endpoint: bool, finalize: bool) -> None:
        if span is None:
            start = end = self.samples
            words = []
        else:
            start, end = span
            words = await self._recognise(start, end)
        if words:
            self.last_word_end = words[-1][2]
            self.utterance_end_pending = True
        await self._send(self._results(start, end, words, is_final=True,
                                       speech_final=endpoint and bool(words),
                                       from_finalize=finalize))
        # The audio may have run past the gap while this was being decoded.
        utterance_end = self._utterance_end(self.analysed) if self.segment is None else None
        if utterance_end:
            await self._send(utterance_end)

    async def _recognise(self, start: int, end: int) -> list[tuple[str, float, float]]:
        pcm = bytes(self.audio[start * 2:end * 2])
        loop = asyncio.get_running_loop()
        words = await loop.run_in_executor(asr.pool(DECODE_WORKERS), asr.recognise, self.options.keyterms,
                                           pcm, self.rate)
        offset = start / self.rate
        return [(word, round(offset + s, 3), round(offset + e, 3)) for word, s, e in words]

    async def _send(self, message: dict) -> None:
        if message.get("type") == "Results":
            if self.slow and self.results_sent == 0:
                await asyncio.sleep(self.slow.seconds)
            self.results_sent += 1
        if not self.socket.closed:
            await self.socket.send_str(json.dumps(message))
            alternatives = message["channel"]["alternatives"] if message["type"] == "Results" else None
            self.state.note(SERVICE, "sent", type=message["type"],
                            transcript=alternatives[0]["transcript"] if alternatives else None,
                            is_final=message.get("is_final"), speech_final=message.get("speech_final"))

    def _results(self, start: int, end: int, words, *, is_final: bool, speech_final: bool = False,
                 from_finalize: bool = False) -> dict:
        punctuate = self.options.punctuate and is_final
        entries = []
        for index, (word, word_start, word_end) in enumerate(words):
            entry = {"word": word, "start": word_start, "end": word_end, "confidence": CONFIDENCE}
            if self.options.punctuate:
                shown = word.capitalize() if index == 0 else word
                entry["punctuated_word"] = shown + ("." if punctuate and index == len(words) - 1 else "")
            entries.append(entry)
        transcript = " ".join(e.get("punctuated_word", e["word"]) for e in entries)
        message = {
            "type": "Results",
            "channel_index": [0, 1],
            "duration": self.seconds(end - start),
            "start": self.seconds(start),
            "is_final": is_final,
            "speech_final": speech_final,
            "channel": {"alternatives": [{
                "transcript": transcript,
                "confidence": CONFIDENCE if entries else 0.0,
                "words": entries,
            }]},
            "metadata": {
                "request_id": self.request_id,
                "model_info": {"name": self.options.model, "version": "emulated", "arch": self.options.model},
                "model_uuid": self.model_uuid,
            },
        }
        if is_final:
            message["from_finalize"] = from_finalize
        return message

    def _metadata(self) -> dict:
        return {
            "type": "Metadata",
            "transaction_key": "deprecated",
            "request_id": self.request_id,
            "sha256": hashlib.sha256(self.audio).hexdigest(),
            "created": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "duration": self.seconds(self.samples),
            "channels": 1,
            "models": [self.model_uuid],
            "model_info": {self.model_uuid: {"name": self.options.model, "version": "emulated",
                                             "arch": self.options.model}},
        }
