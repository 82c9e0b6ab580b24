"""The Deepgram emulator against Deepgram's documented live-streaming messages, checked
with the deepgram SDK's own models of them."""

from __future__ import annotations

import asyncio
import json
import urllib.parse

import numpy as np
import pytest
import websockets
from deepgram.listen.v1.types import (
    ListenV1Metadata,
    ListenV1Results,
    ListenV1SpeechStarted,
    ListenV1UtteranceEnd,
)

from botruntime.script import DEFAULT_SCRIPT, vocabulary
from tests.voice_emulators.conftest import KEY, speech, ws_url
from twilio_emulator.audio import pcm16_to_ulaw

MODELS = {"Results": ListenV1Results, "SpeechStarted": ListenV1SpeechStarted,
          "UtteranceEnd": ListenV1UtteranceEnd, "Metadata": ListenV1Metadata}


def listen_url(voices, **params) -> str:
    query = urllib.parse.urlencode(params, doseq=True)
    return ws_url(voices, f"/v1/listen?{query}")


async def converse(url: str, audio: bytes, *, finish: str = "CloseStream", key: str = KEY,
                   chunk: int = 320) -> tuple[list[dict], websockets.ClientConnection]:
    """Stream `audio` in 20 ms messages, then `finish`; every message until the close."""
    received = []
    async with websockets.connect(url, additional_headers={"Authorization": f"Token {key}"}) as socket:
        async def read():
            async for message in socket:
                received.append(json.loads(message))

        reader = asyncio.create_task(read())
        for start in range(0, len(audio), chunk):
            await socket.send(audio[start:start + chunk])
        await socket.send(json.dumps({"type": finish}))
        await asyncio.wait_for(reader, 30)
    return received, socket


def validated(messages: list[dict]) -> list[dict]:
    for message in messages:
        MODELS[message["type"]].model_validate(message, strict=False)
    return messages


def test_it_transcribes_with_interim_and_final_results_then_metadata(voices):
    url = listen_url(voices, model="nova-3-general", encoding="linear16", sample_rate=8000,
                     interim_results="true", vad_events="true", utterance_end_ms=1000,
                     punctuate="true", keyterm=list(vocabulary(DEFAULT_SCRIPT)))
    audio = speech("Please call me back tomorrow at ten.")
    messages, socket = asyncio.run(converse(url, audio))

    validated(messages)
    kinds = [m["type"] for m in messages]
    assert kinds[0] == "SpeechStarted" and kinds[-1] == "Metadata"
    assert "UtteranceEnd" in kinds
    results = [m for m in messages if m["type"] == "Results"]
    assert any(not m["is_final"] for m in results)
    final = next(m for m in results if m["is_final"] and m["speech_final"])
    alternative = final["channel"]["alternatives"][0]
    assert "call me back tomorrow" in alternative["transcript"].lower()
    assert alternative["transcript"][0].isupper() and alternative["transcript"].endswith(".")
    words = alternative["words"]
    assert [w["start"] for w in words] == sorted(w["start"] for w in words)
    assert final["start"] <= words[0]["start"] < words[-1]["end"] <= final["start"] + final["duration"]
    # UtteranceEnd names the end of the last word it follows.
    utterance_end = next(m for m in messages if m["type"] == "UtteranceEnd")
    assert utterance_end["last_word_end"] == words[-1]["end"]
    assert messages[-1]["duration"] == pytest.approx(len(audio) / 16000, abs=0.05)
    assert socket.close_code == 1000


def test_it_hears_words_with_the_open_english_model_when_given_no_keyterms(voices):
    url = listen_url(voices, encoding="linear16", sample_rate=8000)
    messages, _socket = asyncio.run(converse(url, speech("Hello, who is this?")))

    finals = [m for m in validated(messages) if m["type"] == "Results" and m["is_final"]]
    assert finals and finals[0]["channel"]["alternatives"][0]["words"]
    assert not any(m["type"] == "SpeechStarted" for m in messages)  # vad_events not asked for


def test_finalize_flushes_the_speech_so_far_marked_from_finalize(voices):
    url = listen_url(voices, encoding="linear16", sample_rate=8000, endpointing="false",
                     keyterm=list(vocabulary(DEFAULT_SCRIPT)))
    audio = speech("No thanks, I am not interested.", after=0.3)

    async def run():
        messages = []
        async with websockets.connect(url, additional_headers={"Authorization": f"Token {KEY}"}) as socket:
            for start in range(0, len(audio), 320):
                await socket.send(audio[start:start + 320])
            await socket.send(json.dumps({"type": "Finalize"}))
            messages.append(json.loads(await asyncio.wait_for(socket.recv(), 20)))
            await socket.send(json.dumps({"type": "CloseStream"}))
            async for message in socket:
                messages.append(json.loads(message))
        return messages

    messages = validated(asyncio.run(run()))
    assert messages[0]["is_final"] and messages[0]["from_finalize"] and not messages[0]["speech_final"]
    assert messages[0]["channel"]["alternatives"][0]["transcript"].startswith("no")
    assert messages[-1]["type"] == "Metadata"


def test_mulaw_audio_is_decoded_too(voices):
    pcm = np.frombuffer(speech("Yes, I am interested. Tell me more."), dtype="<i2")
    url = listen_url(voices, encoding="mulaw", sample_rate=8000, keyterm=list(vocabulary(DEFAULT_SCRIPT)))
    messages, _socket = asyncio.run(converse(url, pcm16_to_ulaw(pcm), chunk=160))

    finals = [m for m in validated(messages) if m["type"] == "Results" and m["is_final"]]
    assert "interested" in " ".join(m["channel"]["alternatives"][0]["transcript"] for m in finals)


def test_a_wrong_key_is_refused_at_the_handshake_with_401_and_dg_error(voices):
    async def run():
        with pytest.raises(websockets.InvalidStatus) as refused:
            async with websockets.connect(listen_url(voices),
                                          additional_headers={"Authorization": "Token wrong"}):
                pass
        return refused.value.response

    response = asyncio.run(run())
    assert response.status_code == 401
    assert response.headers["dg-error"] == "Invalid credentials."
    assert json.loads(response.body)["err_code"] == "INVALID_AUTH"


def test_the_sdk_reports_a_rejected_key_as_an_api_error_401(voices):
    from deepgram import AsyncDeepgramClient, DeepgramClientEnvironment
    from deepgram.core import ApiError

    ws, http = voices.base_url.replace("http", "ws"), voices.base_url
    client = AsyncDeepgramClient(api_key="wrong", environment=DeepgramClientEnvironment(
        base=http, production=ws, agent=ws, agent_rest=http))

    async def run():
        async with client.listen.v1.connect(model="nova-3", encoding="linear16", sample_rate="8000"):
            pass

    with pytest.raises(ApiError) as error:
        asyncio.run(run())
    assert error.value.status_code == 401


def test_a_bad_parameter_is_refused_with_400(voices):
    async def run():
        with pytest.raises(websockets.InvalidStatus) as refused:
            async with websockets.connect(listen_url(voices, encoding="opus"),
                                          additional_headers={"Authorization": f"Token {KEY}"}):
                pass
        return refused.value.response

    response = asyncio.run(run())
    assert response.status_code == 400 and "opus" in response.headers["dg-error"]


def test_a_connection_with_nothing_sent_is_closed_1011_net0001(voices, monkeypatch):
    from voice_emulators import deepgram

    monkeypatch.setattr(deepgram, "IDLE_TIMEOUT_SECS", 0.5)

    async def run():
        async with websockets.connect(listen_url(voices),
                                      additional_headers={"Authorization": f"Token {KEY}"}) as socket:
            with pytest.raises(websockets.ConnectionClosedError):
                await asyncio.wait_for(socket.recv(), 5)
            return socket.close_code, socket.close_reason

    code, reason = asyncio.run(run())
    assert code == 1011 and "net0001" in reason


def test_keepalive_keeps_an_idle_connection_open(voices, monkeypatch):
    from voice_emulators import deepgram

    monkeypatch.setattr(deepgram, "IDLE_TIMEOUT_SECS", 0.8)

    async def run():
        async with websockets.connect(listen_url(voices),
                                      additional_headers={"Authorization": f"Token {KEY}"}) as socket:
            for _ in range(4):
                await asyncio.sleep(0.4)
                await socket.send(json.dumps({"type": "KeepAlive"}))
            return socket.state

    assert asyncio.run(run()) == websockets.State.OPEN


def test_a_dropped_socket_fault_cuts_the_connection_mid_utterance(voices):
    voices.inject("deepgram", "drop", seconds=0.3)
    url = listen_url(voices, encoding="linear16", sample_rate=8000)

    audio = speech("Please call me back tomorrow at ten.")

    async def run():
        async with websockets.connect(url, additional_headers={"Authorization": f"Token {KEY}"}) as socket:
            with pytest.raises(websockets.ConnectionClosed):
                for start in range(0, len(audio), 320):
                    await socket.send(audio[start:start + 320])
                    await asyncio.sleep(0.001)
                await asyncio.wait_for(socket.recv(), 5)
            return socket.close_code

    assert asyncio.run(run()) == 1006  # abnormal: no close frame
    assert voices.log("deepgram", "dropped")


def test_a_rate_limit_fault_answers_429_with_retry_after(voices):
    voices.inject("deepgram", "rate_limit", retry_after=3)

    async def run():
        with pytest.raises(websockets.InvalidStatus) as refused:
            async with websockets.connect(listen_url(voices),
                                          additional_headers={"Authorization": f"Token {KEY}"}):
                pass
        return refused.value.response

    response = asyncio.run(run())
    assert response.status_code == 429 and response.headers["Retry-After"] == "3"
