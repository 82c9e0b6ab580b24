"""The pieces under the protocol: scenarios, the playout buffer, μ-law, signatures."""

from __future__ import annotations

import time
import warnings

import numpy as np
import pytest
from twilio.request_validator import RequestValidator

from twilio_emulator.audio import SILENCE_FRAME, is_speech, pcm16_to_ulaw, resample, ulaw_to_pcm16
from twilio_emulator.line import Playout
from twilio_emulator.metronome import Metronome
from twilio_emulator.scenario import Scenario, ScenarioError
from twilio_emulator.signing import sign, sign_websocket
from twilio_emulator.speech import Synthesizer

from .conftest import AUTH_TOKEN, ulaw_tone


@pytest.mark.parametrize(("number", "name", "behaviour"), [
    ("+12025550101", "interested", "answer"),
    ("+12025550102", "not-interested", "answer"),
    ("+12025550103", "callback", "answer"),
    ("+12025550104", "busy", "busy"),
    ("+12025550105", "no-answer", "no-answer"),
    ("+12025550106", "voicemail", "machine"),
    ("+12025550107", "do-not-call", "answer"),
    ("+12025550108", "failed", "failed"),
    ("+12025550199", "polite", "answer"),
    ("+12025550191", "agent", "answer"),
    ("+12025550192", "agent-away", "no-answer"),
    ("+12025550193", "agent-declines", "decline"),
    ("+12025550194", "agent-brief", "answer"),
    ("+12025550195", "agent-slow", "answer"),
    ("+12025550121", "polite", "answer"),
])
def test_the_default_scenario_keys_callees_by_the_last_two_digits(number, name, behaviour):
    callee = Scenario.load().callee_for(number)

    assert (callee.name, callee.behaviour) == (name, behaviour)


def test_the_interested_callee_says_its_two_lines():
    callee = Scenario.load().callee_for("+12025550101")

    assert callee.phrases() == ["Yes, I am interested. Tell me more.",
                                "That sounds good. Yes please."]
    assert callee.script[-1].kind == "hangup_after" and callee.script[-1].seconds == 40


def test_exact_numbers_win_over_patterns():
    scenario = Scenario.load({"callees": [
        {"pattern": "01$", "behaviour": "busy"},
        {"number": "+15550000001", "behaviour": "failed"},
    ]})

    assert scenario.callee_for("+15550000001").behaviour == "failed"
    assert scenario.callee_for("+15550000101").behaviour == "busy"
    assert scenario.callee_for("+15550000102").behaviour == "answer"


@pytest.mark.parametrize("broken", [
    {"callees": [{"number": "+15550000001", "behaviour": "sing"}]},
    {"callees": [{"behaviour": "busy"}]},
    {"callees": [{"pattern": "(", "behaviour": "busy"}]},
    {"fallback": {"script": [{"shout": "hi"}]}},
    {"fallback": {"script": [{"dtmf": "12x"}]}},
    {"fallback": {"voice": "robot"}},
    {"fallback": {"script": [{"expect": ""}]}},
    {"fallback": {"script": [{"expect": {"text": "hello", "min_match": 2}}]}},
    {"fallback": {"script": [{"expect": {"text": "hello", "within": "soon"}}]}},
])
def test_a_broken_scenario_is_refused_with_a_reason(broken):
    with pytest.raises(ScenarioError):
        Scenario.load(broken)


@pytest.mark.asyncio
async def test_a_piper_callee_speaks_with_another_voice_than_espeak(tmp_path):
    scenario = Scenario.load({"callees": [{"pattern": "02$", "voice": "piper"}]})
    assert scenario.callee_for("+15550000102").voice == "piper"
    assert scenario.callee_for("+15550000103").voice == "espeak"

    voice = Synthesizer(tmp_path)
    piper = await voice.ulaw("No thanks, I am not interested.", "piper")
    espeak = await voice.ulaw("No thanks, I am not interested.")
    assert piper != espeak
    speech = [frame for frame in range(0, len(piper) - 160, 160) if is_speech(piper[frame:frame + 160])]
    assert len(speech) * 0.02 > 1.0  # over a second of speech, at the line's 8 kHz
    # Cached on disk under its own key, beside espeak's.
    assert len(list(tmp_path.glob("*.ulaw"))) == 2


def test_a_mark_is_due_once_the_audio_before_it_has_played():
    playout = Playout()
    playout.enqueue(bytes(400))  # 2.5 frames
    playout.add_mark("after-audio")

    assert playout.next_frame()[1] == []
    assert playout.next_frame()[1] == []
    frame, due = playout.next_frame()
    assert due == ["after-audio"]
    assert frame == bytes(80) + SILENCE_FRAME[:80]


def test_a_mark_with_nothing_queued_is_due_at_once():
    playout = Playout()
    playout.add_mark("now")

    assert playout.next_frame() == (SILENCE_FRAME, ["now"])


def test_clear_drops_unplayed_audio_and_returns_pending_marks():
    playout = Playout()
    playout.enqueue(bytes(1600))
    playout.add_mark("a")
    playout.enqueue(bytes(1600))
    playout.add_mark("b")
    playout.next_frame()

    assert playout.clear() == ["a", "b"]
    assert playout.next_frame() == (SILENCE_FRAME, [])


def test_ulaw_round_trips_within_quantisation_error():
    samples = (np.sin(np.linspace(0, 40, 800)) * 12000).astype(np.int16)

    decoded = ulaw_to_pcm16(pcm16_to_ulaw(samples)).astype(np.int32)

    assert np.max(np.abs(decoded - samples)) <= 12000 * 0.04
    assert is_speech(ulaw_tone(0.02)) and not is_speech(SILENCE_FRAME)


def test_ulaw_is_bit_exact_with_audioop():
    # Pipecat's Twilio serializer encodes and decodes with audioop: the callee's line must
    # be quantised the way the bot's own is.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # removed in Python 3.13
        audioop = pytest.importorskip("audioop")
    every_sample = np.arange(-32768, 32768, dtype=np.int16)
    every_code = bytes(range(256))

    assert pcm16_to_ulaw(every_sample) == audioop.lin2ulaw(every_sample.tobytes(), 2)
    assert ulaw_to_pcm16(every_code).tobytes() == audioop.ulaw2lin(every_code, 2)


def test_resampling_espeak_audio_keeps_the_telephone_band_clean():
    seconds = np.arange(22050) / 22050
    tone_3khz = (10000 * np.sin(2 * np.pi * 3000 * seconds)).astype(np.int16)

    resampled = resample(tone_3khz, 22050).astype(np.float64)[400:-400]

    t = (np.arange(resampled.size) + 400) / 8000
    basis = np.stack([np.sin(2 * np.pi * 3000 * t), np.cos(2 * np.pi * 3000 * t)], axis=1)
    fit, *_ = np.linalg.lstsq(basis, resampled, rcond=None)
    residue = resampled - basis @ fit
    assert abs(np.hypot(*fit) / 10000 - 1) < 0.01
    assert 10 * np.log10((basis @ fit).var() / residue.var()) > 60  # dB; was 31 with np.interp


def test_signatures_are_what_twilios_validator_expects():
    validator = RequestValidator(AUTH_TOKEN)
    params = {"CallSid": "CA1", "CallStatus": "ringing"}

    assert validator.validate("https://app.example/status", params,
                              sign(AUTH_TOKEN, "https://app.example/status", params))
    assert validator.validate("wss://app.example/stream", {},
                              sign_websocket(AUTH_TOKEN, "wss://app.example/stream"))
    assert validator.validate("wss://app.example/stream", {"call": "7"},
                              sign_websocket(AUTH_TOKEN, "wss://app.example/stream?call=7"))


@pytest.mark.asyncio
async def test_the_shared_clock_ticks_every_20_ms_without_drift():
    clock = Metronome()
    first = clock.join()
    started = time.monotonic()

    tick = first
    while tick < first + 25:
        tick = await clock.after(tick)

    elapsed = time.monotonic() - started
    clock.leave()
    assert 0.48 <= elapsed <= 0.56  # 25 ticks of 20 ms
    assert clock.deadline(tick) - clock.deadline(first) == pytest.approx(0.5)
