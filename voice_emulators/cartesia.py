"""Cartesia text-to-speech over WebSocket: /tts/websocket.

Generation requests carry a `context_id`; each transcript is spoken by espeak-ng and
streamed back as `chunk` messages (base64 audio in the asked encoding and sample rate),
`timestamps` with word start/end times, and `done` once a context has no more input
(`continue: false`, or an empty transcript flushing it). `cancel` stops a context.
espeak-ng gives no word times, so they are estimated from the audio (`word_times`).
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import re
from dataclasses import dataclass, field

import numpy as np
from aiohttp import WSMsgType, web

from twilio_emulator.audio import pcm16_to_ulaw, resample
from twilio_emulator.speech import espeak_pcm

from .state import State, state_of

logger = logging.getLogger(__name__)
routes = web.RouteTableDef()

SERVICE = "cartesia"
SAMPLE_RATES = (8000, 16000, 22050, 24000, 44100, 48000)
ENCODINGS = ("pcm_s16le", "pcm_f32le", "pcm_mulaw")
CHUNK_SECS = 0.1
SILENCE_RMS = 200.0  # below this (16-bit scale) a 10 ms block counts as a pause
PAUSE_SECS = 0.08  # espeak-ng pauses at least this long at a comma or full stop
DEFAULT_DROP_AFTER_SECS = 0.3
CLAUSE_END = re.compile(r"[,.;:!?]$")


def _error(message: str, status: int, context_id: str = "", code: str = "invalid_request") -> dict:
    # Versions before 2025 send `error`; later ones `title`/`message`/`error_code`: both here.
    return {"type": "error", "done": True, "status_code": status, "context_id": context_id,
            "error": message, "title": message.split(":")[0], "message": message, "error_code": code}


@routes.get("/tts/websocket")
async def tts_websocket(request: web.Request) -> web.StreamResponse:
    state = state_of(request)
    key = (request.headers.get("X-API-Key") or request.query.get("api_key")
           or request.query.get("access_token"))
    version = request.headers.get("Cartesia-Version") or request.query.get("cartesia_version")
    if not state.key_ok(key) or state.take_fault(SERVICE, "reject_key"):
        state.note(SERVICE, "rejected", status=401)
        return web.json_response({"error": "Invalid API key", "status_code": 401}, status=401)
    if not version:
        state.note(SERVICE, "rejected", status=400)
        return web.json_response({"error": "Cartesia-Version header is required",
                                  "status_code": 400}, status=400)
    fault = state.take_fault(SERVICE, "rate_limit")
    if fault:
        state.note(SERVICE, "rejected", status=429)
        return web.json_response({"error": "Rate limit exceeded", "status_code": 429}, status=429,
                                 headers={"Retry-After": str(fault.retry_after)})
    socket = web.WebSocketResponse(heartbeat=None)
    await socket.prepare(request)
    state.note(SERVICE, "connected", version=version)
    session = TTSSession(socket, state, drop=state.take_fault(SERVICE, "drop"),
                         slow=state.take_fault(SERVICE, "slow_first_byte"))
    await session.run(request)
    return socket


@dataclass
class Context:
    """One `context_id`: its transcripts are spoken in order, their times run on."""

    id: str
    output: dict
    offset_secs: float = 0.0
    pending: asyncio.Queue = field(default_factory=asyncio.Queue)
    cancelled: bool = False
    finished: bool = False
    worker: asyncio.Task | None = None


@dataclass
class TTSSession:
    socket: web.WebSocketResponse
    state: State
    drop: object = None
    slow: object = None
    contexts: dict[str, Context] = field(default_factory=dict)
    chunks_sent: int = 0
    send_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    request: web.Request | None = None

    async def run(self, request: web.Request) -> None:
        self.request = request
        try:
            async for message in self.socket:
                if message.type != WSMsgType.TEXT:
                    if message.type == WSMsgType.BINARY:
                        await self._send(_error("Binary messages are not accepted", 400))
                        continue
                    break
                try:
                    body = json.loads(message.data)
                except ValueError:
                    await self._send(_error("Invalid JSON", 400))
                    continue
                await self._handle(body if isinstance(body, dict) else {})
        finally:
            for context in self.contexts.values():
                if context.worker:
                    context.worker.cancel()
            self.state.note(SERVICE, "closed")

    async def _handle(self, body: dict) -> None:
        context_id = str(body.get("context_id") or "")
        if body.get("cancel"):
            context = self.contexts.get(context_id)
            self.state.note(SERVICE, "cancel", context_id=context_id, known=context is not None)
            if context:
                context.cancelled = True
                if context.worker:
                    context.worker.cancel()
            return
        problem = _validate(body)
        if problem:
            await self._send(_error(problem, 400, context_id))
            return
        context = self.contexts.get(context_id)
        if context is None or context.finished:
            context = Context(context_id, body["output_format"])
            context.worker = asyncio.create_task(self._speak(context))
            self.contexts[context_id] = context
        transcript = str(body.get("transcript", ""))
        more = bool(body.get("continue", False))
        self.state.note(SERVICE, "request", context_id=context_id, transcript=transcript,
                        more=more)
        context.pending.put_nowait((transcript, bool(body.get("add_timestamps", False)), more))

    async def _speak(self, context: Context) -> None:
        """Speak the context's transcripts in order; `done` once no more input is coming."""
        try:
            while True:
                transcript, timestamps, more = await context.pending.get()
                if transcript.strip():
                    await self._generate(context, transcript, timestamps)
                if not more:
                    break
            context.finished = True
            await self._send({"type": "done", "done": True, "status_code": 206,
                              "context_id": context.id})
            self.state.note(SERVICE, "done", context_id=context.id)
        except asyncio.CancelledError:
            context.finished = True
        except ConnectionResetError:
            context.finished = True
        except Exception as exc:
            logger.exception("cartesia emulator: generation failed")
            await self._send(_error(f"Generation failed: {exc}", 500, context.id, "internal_error"))

    async def _generate(self, context: Context, transcript: str, timestamps: bool) -> None:
        output = context.output
        rate = int(output["sample_rate"])
        samples, espeak_rate = await espeak_pcm(transcript)
        samples = resample(samples, espeak_rate, rate)
        words = word_times(transcript, samples, rate)
        if self.slow and self.chunks_sent == 0:
            await asyncio.sleep(self.slow.seconds)
        if timestamps and words:
            await self._send({
                "type": "timestamps", "done": False, "status_code": 206, "context_id": context.id,
                "word_timestamps": {
                    "words": [w for w, _s, _e in words],
                    "start": [round(context.offset_secs + s, 3) for _w, s, _e in words],
                    "end": [round(context.offset_secs + e, 3) for _w, _s, e in words],
                },
            })
        step = int(rate * CHUNK_SECS)
        for start in range(0, samples.size, step):
            if context.cancelled:
                return
            if self.drop and start >= rate * (self.drop.seconds or DEFAULT_DROP_AFTER_SECS):
                self.state.note(SERVICE, "dropped", context_id=context.id)
                self.request.transport.close()  # mid-utterance, with no close frame
                raise ConnectionResetError("dropped on purpose")
            data = encode(samples[start:start + step], output["encoding"])
            await self._send({"type": "chunk", "data": base64.b64encode(data).decode(),
                              "done": False, "status_code": 206, "step_time": 1.0,
                              "context_id": context.id})
            self.chunks_sent += 1
            # Faster than real time, as the service is, but not all at once.
            await asyncio.sleep(0)
        context.offset_secs += samples.size / rate

    async def _send(self, message: dict) -> None:
        async with self.send_lock:
            if not self.socket.closed:
                await self.socket.send_str(json.dumps(message))


def _validate(body: dict) -> str:
    if not body.get("model_id"):
        return "Invalid model: model_id is required"
    voice = body.get("voice") or {}
    if voice.get("mode", "id") != "id" or not voice.get("id"):
        return "Invalid voice: voice must be {\"mode\": \"id\", \"id\": …}"
    output = body.get("output_format") or {}
    if output.get("container", "raw") != "raw":
        return "Invalid output format: the WebSocket streams the raw container only"
    if output.get("encoding") not in ENCODINGS:
        return f"Invalid output format: encoding must be one of {', '.join(ENCODINGS)}"
    if output.get("sample_rate") not in SAMPLE_RATES:
        return f"Invalid output format: sample_rate must be one of {', '.join(map(str, SAMPLE_RATES))}"
    if not isinstance(body.get("transcript", ""), str):
        return "Invalid transcript: must be a string"
    return ""


def encode(samples: np.ndarray, encoding: str) -> bytes:
    if encoding == "pcm_f32le":
        return (samples.astype("<f4") / 32768.0).tobytes()
    if encoding == "pcm_mulaw":
        return pcm16_to_ulaw(samples)
    return samples.astype("<i2").tobytes()


def word_times(transcript: str, samples: np.ndarray, rate: int) -> list[tuple[str, float, float]]:
    """(word, start, end) in seconds, estimated: espeak-ng pauses at punctuation, so the
    speech is cut into clauses at its longest pauses, and each clause's time is shared
    among its words by their length."""
    words = transcript.split()
    if not words or samples.size == 0:
        return []
    block = max(1, rate // 100)
    blocks = samples[: samples.size - samples.size % block].astype(np.float64).reshape(-1, block)
    voiced = np.sqrt((blocks ** 2).mean(axis=1)) > SILENCE_RMS
    if not voiced.any():
        return [(word, 0.0, 0.0) for word in words]
    first, last = int(np.argmax(voiced)), int(len(voiced) - np.argmax(voiced[::-1]))
    pauses = _pauses(voiced, first, last, int(PAUSE_SECS * 100))
    clauses = _clauses(words)
    # The longest pauses, in order, end the clauses; with too few pauses, one clause.
    cuts = sorted(sorted(pauses, key=lambda p: p[1] - p[0], reverse=True)[: len(clauses) - 1])
    if len(cuts) < len(clauses) - 1:
        clauses, cuts = [words], []
    spans, start = [], first
    for pause_start, pause_end in cuts:
        spans.append((start, pause_start))
        start = pause_end
    spans.append((start, last))
    times = []
    for clause, (span_start, span_end) in zip(clauses, spans, strict=True):
        weights = [len(re.sub(r"\W", "", word)) + 1 for word in clause]
        per_unit = (span_end - span_start) / sum(weights)
        at = float(span_start)
        for word, weight in zip(clause, weights, strict=True):
            times.append((word, round(at / 100, 3), round((at + weight * per_unit) / 100, 3)))
            at += weight * per_unit
    return times


def _pauses(voiced: np.ndarray, first: int, last: int, shortest: int) -> list[tuple[int, int]]:
    pauses, run_start = [], None
    for index in range(first, last):
        if not voiced[index] and run_start is None:
            run_start = index
        elif voiced[index] and run_start is not None:
            if index - run_start >= shortest:
                pauses.append((run_start, index))
            run_start = None
    return pauses


def _clauses(words: list[str]) -> list[list[str]]:
    clauses, current = [], []
    for word in words:
        current.append(word)
        if CLAUSE_END.search(word):
            clauses.append(current)
            current = []
    if current:
        clauses.append(current)
    return clauses
