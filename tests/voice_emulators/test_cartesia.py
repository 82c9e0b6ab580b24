"""The Cartesia emulator against the TTS WebSocket's documented messages: the docs'
generation request, chunks, timestamps, done, cancel, flush by `continue`, errors."""

from __future__ import annotations

import asyncio
import base64
import json

import numpy as np
import pytest
import websockets

from tests.voice_emulators.conftest import KEY, ws_url

HEADERS = {"X-API-Key": KEY, "Cartesia-Version": "2026-03-01"}


def request(context_id: str, transcript: str, more: bool = False, **output) -> str:
    """The generation request of Cartesia's API reference."""
    return json.dumps({
        "model_id": "sonic-3.5", "transcript": transcript,
        "voice": {"mode": "id", "id": "a0e99841-438c-4a64-b679-ae501e7d6091"},
        "language": "en", "context_id": context_id,
        "output_format": {"container": "raw", "encoding": "pcm_s16le", "sample_rate": 8000, **output},
        "add_timestamps": True, "continue": more,
    })


async def until_done(socket, context_id: str) -> list[dict]:
    messages = []
    while True:
        message = json.loads(await asyncio.wait_for(socket.recv(), 20))
        messages.append(message)
        if message["context_id"] == context_id and message["done"]:
            return messages


def test_it_streams_pcm_at_the_asked_rate_with_word_times_then_done(voices):
    async def run():
        async with websockets.connect(ws_url(voices, "/tts/websocket"), additional_headers=HEADERS) as socket:
            await socket.send(request("ctx-1", "Hello, world! I'm generating audio on Cartesia!"))
            return await until_done(socket, "ctx-1")

    messages = asyncio.run(run())
    chunks = [m for m in messages if m["type"] == "chunk"]
    timestamps = [m for m in messages if m["type"] == "timestamps"]
    assert messages[-1] == {"type": "done", "done": True, "status_code": 206, "context_id": "ctx-1"}
    assert all(m["status_code"] == 206 and not m["done"] for m in chunks + timestamps)
    audio = np.frombuffer(b"".join(base64.b64decode(m["data"]) for m in chunks), dtype="<i2")
    assert 1.5 < audio.size / 8000 < 6 and np.abs(audio).max() > 1000
    words = timestamps[0]["word_timestamps"]
    assert words["words"] == ["Hello,", "world!", "I'm", "generating", "audio", "on", "Cartesia!"]
    assert words["start"] == sorted(words["start"]) and all(
        s < e for s, e in zip(words["start"], words["end"], strict=True))
    assert words["end"][-1] <= audio.size / 8000


def test_continued_transcripts_share_a_context_and_its_clock_until_an_empty_flush(voices):
    async def run():
        async with websockets.connect(ws_url(voices, "/tts/websocket"), additional_headers=HEADERS) as socket:
            await socket.send(request("ctx-2", "Good morning.", more=True))
            await socket.send(request("ctx-2", "How are you today?", more=True))
            await socket.send(request("ctx-2", "", more=False))
            return await until_done(socket, "ctx-2")

    messages = asyncio.run(run())
    first, second = [m["word_timestamps"] for m in messages if m["type"] == "timestamps"]
    # The second transcript's words are timed after the first's audio, on one clock.
    assert second["start"][0] >= first["end"][-1]
    assert [m["type"] for m in messages].count("done") == 1


def test_mulaw_and_float_output_formats(voices):
    async def run(encoding):
        async with websockets.connect(ws_url(voices, "/tts/websocket"), additional_headers=HEADERS) as socket:
            await socket.send(request("ctx-3", "Testing.", encoding=encoding, sample_rate=16000))
            messages = await until_done(socket, "ctx-3")
        return b"".join(base64.b64decode(m["data"]) for m in messages if m["type"] == "chunk")

    mulaw, floats = asyncio.run(run("pcm_mulaw")), asyncio.run(run("pcm_f32le"))
    assert len(floats) == 4 * len(mulaw)
    assert np.abs(np.frombuffer(floats, dtype="<f4")).max() <= 1.0


def test_cancel_stops_a_context_and_other_contexts_go_on(voices):
    async def run():
        async with websockets.connect(ws_url(voices, "/tts/websocket"), additional_headers=HEADERS) as socket:
            # Long enough (about a minute of speech) that the emulator, streaming faster than
            # real time, cannot have sent it all before the cancel reaches it on a busy machine.
            await socket.send(request("long", " ".join(["This is a rather long sentence that will be cut "
                                                        "off before the end, because the caller talks "
                                                        "over it."] * 10)))
            first = json.loads(await socket.recv())
            await socket.send(json.dumps({"context_id": "long", "cancel": True}))
            await socket.send(request("next", "Sorry, go ahead."))
            messages = await until_done(socket, "next")
            return first, messages

    first, messages = asyncio.run(run())
    assert first["context_id"] == "long"
    assert not any(m["context_id"] == "long" and m["type"] == "done" for m in messages)
    assert voices.log("cartesia", "cancel")[-1]["known"]


def test_an_invalid_request_gets_an_error_message_on_the_socket(voices):
    async def run():
        async with websockets.connect(ws_url(voices, "/tts/websocket"), additional_headers=HEADERS) as socket:
            await socket.send(request("bad", "Hello", sample_rate=12345))
            return json.loads(await socket.recv())

    error = asyncio.run(run())
    assert error["type"] == "error" and error["done"] and error["status_code"] == 400
    assert error["context_id"] == "bad" and "sample_rate" in error["error"]


def test_a_wrong_key_or_no_version_is_refused_at_the_handshake(voices):
    async def refused(headers):
        with pytest.raises(websockets.InvalidStatus) as error:
            async with websockets.connect(ws_url(voices, "/tts/websocket"), additional_headers=headers):
                pass
        return error.value.response.status_code

    assert asyncio.run(refused({**HEADERS, "X-API-Key": "wrong"})) == 401
    assert asyncio.run(refused({"X-API-Key": KEY})) == 400


def test_the_key_and_version_may_come_in_the_query(voices):
    async def run():
        url = ws_url(voices, f"/tts/websocket?api_key={KEY}&cartesia_version=2026-03-01")
        async with websockets.connect(url) as socket:
            await socket.send(request("q", "Hi."))
            return await until_done(socket, "q")

    assert asyncio.run(run())[-1]["type"] == "done"


def test_a_dropped_socket_fault_cuts_a_long_line_mid_utterance(voices):
    voices.inject("cartesia", "drop", seconds=0.3)

    async def run():
        async with websockets.connect(ws_url(voices, "/tts/websocket"), additional_headers=HEADERS) as socket:
            await socket.send(request("drop", "A long enough line to be cut in the middle of it."))
            with pytest.raises(websockets.ConnectionClosedError):
                await until_done(socket, "drop")
            return socket.close_code

    assert asyncio.run(run()) == 1006
