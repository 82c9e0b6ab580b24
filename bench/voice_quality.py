"""How well the offline stacks hear and understand a caller, and when they answer.

    flock /tmp/dialer-heavy.lock .venv/bin/python bench/voice_quality.py
    .venv/bin/python bench/voice_quality.py --parts meaning   # text only: no lock needed

1. Recognition: every sentence of voice_quality_phrases.SPOKEN is spoken by several
   espeak-ng voices and the packaged Piper voice at several speeds, some with line noise,
   all through μ-law at 8 kHz (the phone line), then transcribed by each stack's recogniser
   (lite: pocketsphinx with the script's vocabulary; natural: Whisper base int8 with the
   script's phrases as prompt) in the product's speech worker pool. Printed: word error
   rate, and intent accuracy (the disposition the scripted agent reaches from the
   transcript, keywords and meaning as in a call), and CPU seconds per second of speech.
2. Turn-taking: callers who pause inside a sentence (PAUSED) and who do not (COMPLETE), fed
   in 20 ms frames to the product's Silero VAD and Smart Turn analyzers. Printed per rule:
   median caller-stops -> turn-ended (the moment the bot may start answering; what follows,
   recognition and synthesis, is the same under either rule) and how often the turn ended
   inside the pause (a caller cut off mid-sentence). The silence timeout is swept.
   Smart Turn's own probability that the turn is finished is printed at the inner pauses
   and at the real ends: the rule can only be as good as the model holds them apart.
   Smart Turn is run as the product runs it (botruntime.turns: its "finished" taken after a
   silence floor, a ceiling after that) and in variants (no floor, other floors and ceilings,
   asked later, a higher threshold); each rule's cut-off callers are listed, and set against
   the fastest timeout that cuts no more ("at equal cut-off rate") and the 0.8 s timeout's.
3. Meaning: voice_quality_phrases.PARAPHRASES and FRESH_PARAPHRASES (held out), keywords
   alone vs keywords plus sentence embeddings; and the same on voice_quality_phrases.TUNING,
   the set the thresholds were set on (not held out).

No database, no servers: the models and the agent, as the bot runs them. CPU per call with
whole calls: bench/concurrent_calls.py --services lite natural.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import re
import statistics
import subprocess
import sys
import time
import wave
from pathlib import Path
from typing import NamedTuple

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import _support  # noqa: E402
from bench.voice_quality_phrases import (  # noqa: E402
    COMPLETE,
    FRESH_PARAPHRASES,
    PARAPHRASES,
    PAUSED,
    SPOKEN,
    TUNING,
)

RATE = 8000
FRAME = RATE // 50  # 20 ms
# (engine, voice, speed, noise): espeak speed in words per minute, Piper's as length_scale.
VOICES = [
    ("espeak", "en-us", 165, False), ("espeak", "en-us+m3", 140, True),
    ("espeak", "en-gb", 180, True), ("espeak", "en-us+f3", 150, False),
    ("piper", "joe", 1.0, False), ("piper", "joe", 0.85, True),
    ("piper", "joe", 1.2, True), ("espeak", "en-us+m7", 175, True),
]
RENDERINGS_PER_SENTENCE = 4
NOISE_SNR_DB = 20.0
PARTS = ("recognition", "turns", "meaning")
SILENCE_TIMEOUTS = (0.8, 0.9, 1.0, 1.1, 1.2, 1.6, 2.0)  # BOT_SILENCE_TIMEOUT_SECS's default first
# Smart Turn's COMPLETE accepted only after this much silence (with the default's ceiling, and
# with Pipecat's plain 2 s); asked only at a VAD stop this late; its P(finished) threshold
# raised from Pipecat's 0.5 (smart_rules).
SMART_FLOORS = (0.4, 0.6, 0.8)
SMART_ASKED_AT = (0.4, 0.6)
SMART_THRESHOLDS = (0.7, 0.9)
# Silence after each caller: longer than any rule's wait (Smart Turn's 0.2 s VAD stop plus its
# 2 s ceiling), so a turn ended by the ceiling is counted, not dropped as never ended.
TRAILING_SECS = 3
LONG_WAIT_SECS = 1.5  # a wait the bench counts apart: the caller hears a dead line
NUMBERS = {"0": "zero", "1": "one", "2": "two", "3": "three", "4": "four", "5": "five", "6": "six",
           "7": "seven", "8": "eight", "9": "nine", "10": "ten", "11": "eleven", "12": "twelve"}
CONTRACTIONS = {"i'm": "i am", "don't": "do not", "can't": "can not", "cannot": "can not",
                "it's": "it is", "that's": "that is", "i'd": "i would", "you've": "you have",
                "won't": "will not", "we're": "we are", "let's": "let us", "what's": "what is"}


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dialer_site.settings")
    os.environ.setdefault("SECRET_KEY", "bench-only")
    os.environ.setdefault("READ_DOTENV", "false")
    os.environ.setdefault("TWILIO_AUTH_TOKEN", "bench-only")  # no call is placed; settings need one
    import django

    django.setup()


# -- the callers' audio --------------------------------------------------------------------

def espeak(text: str, voice: str, wpm: int, rate: int = RATE, ssml: bool = False) -> np.ndarray:
    from twilio_emulator.audio import resample

    markup = ["-m"] if ssml else []  # SSML: a <break> inside the sentence
    wav = subprocess.run(["espeak-ng", *markup, "-v", voice, "-s", str(wpm), "--stdout", text],
                         capture_output=True, check=True).stdout
    with wave.open(io.BytesIO(wav)) as w:
        samples = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
        return resample(samples, w.getframerate(), rate)


def piper(text: str, length_scale: float, rate: int = RATE) -> np.ndarray:
    from botruntime import neural, weights

    voice = str(weights.piper_voice(""))
    return np.frombuffer(neural.synthesize(voice, text, rate, length_scale), dtype="<i2")


def speak(text: str, engine: str, voice: str, speed) -> np.ndarray:
    return espeak(text, voice, speed) if engine == "espeak" else piper(text, speed)


def phone_line(samples: np.ndarray, noisy: bool, seed: int) -> np.ndarray:
    """Line noise at NOISE_SNR_DB (if noisy), then μ-law at 8 kHz and back, as Twilio carries it."""
    from twilio_emulator.audio import pcm16_to_ulaw, ulaw_to_pcm16

    signal = samples.astype(np.float64)
    if noisy:
        power = np.mean(signal[np.abs(signal) > 100] ** 2) if np.any(np.abs(signal) > 100) else 1.0
        noise = np.random.default_rng(seed).normal(0, np.sqrt(power / 10 ** (NOISE_SNR_DB / 10)),
                                                   signal.size)
        signal = signal + noise
    clipped = np.clip(signal, -32768, 32767).astype("<i2")
    return ulaw_to_pcm16(bytes(pcm16_to_ulaw(clipped))).astype("<i2")


def loud_frames(samples: np.ndarray, rate: int = RATE) -> np.ndarray:
    """Per 20 ms frame: is there speech in it (the clean rendering)."""
    frame = rate // 50
    frames = samples[: samples.size // frame * frame].reshape(-1, frame).astype(np.float64)
    return np.sqrt(np.mean(frames ** 2, axis=1)) > 300


def speech_end(samples: np.ndarray, rate: int = RATE) -> float:
    """Seconds to the last 20 ms frame with speech in it (the clean rendering)."""
    loud = np.flatnonzero(loud_frames(samples, rate))
    return (loud[-1] + 1) / 50 if loud.size else 0.0


# -- 1. recognition and intent on the line -------------------------------------------------

def words(text: str) -> list[str]:
    tokens = re.findall(r"[a-z0-9']+", text.lower().replace("\u2019", "'"))
    out: list[str] = []
    for token in tokens:
        out += (CONTRACTIONS.get(token) or NUMBERS.get(token) or token).split()
    return out


def edit_distance(reference: list[str], hypothesis: list[str]) -> int:
    row = list(range(len(hypothesis) + 1))
    for i, ref_word in enumerate(reference, 1):
        previous, row[0] = row[0], i
        for j, hyp_word in enumerate(hypothesis, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (ref_word != hyp_word))
    return row[-1]


def utterances() -> list[tuple[str, str, str, np.ndarray]]:
    """(text, disposition, voice label, 8 kHz PCM) for each rendering."""
    made = []
    for index, (text, disposition) in enumerate(SPOKEN):
        for k in range(RENDERINGS_PER_SENTENCE):
            engine, voice, speed, noisy = VOICES[(index + k * 2) % len(VOICES)]
            audio = phone_line(speak(text, engine, voice, speed), noisy, seed=index * 10 + k)
            made.append((text, disposition, f"{engine}:{voice}@{speed}{'+noise' if noisy else ''}", audio))
    return made


async def reached(script: dict, heard: str) -> str:
    """The disposition the scripted agent reaches on a first turn, as `ScriptedAgent` does."""
    return (await first_turn(script, heard))[0]


async def first_turn(script: dict, heard: str) -> tuple[str, bool]:
    """(the disposition reached, whether the agent asked again) on a first turn."""
    from botruntime import intents
    from botruntime.script import ScriptedDialogue

    talk = ScriptedDialogue(script)
    keyword = talk.keyword_rule(heard)
    meaning = None if keyword is not None else await intents.meaning(script, heard)
    action = talk.respond(heard, meaning)
    return action.disposition, keyword is None and meaning.rule is None


async def recognition(stack: str, made: list) -> dict:
    from botruntime import asr, natural, neural
    from botruntime.script import merged_script, vocabulary

    script = merged_script({})
    loop = asyncio.get_running_loop()
    if stack == "lite":
        decode, args = asr.transcribe, (vocabulary(script),)
    else:
        decode, args = neural.transcribe, (natural.models().whisper_dir, natural.prompt(script))
    # Load the models in every worker first: loading is start-up, not decoding.
    await asyncio.gather(*(loop.run_in_executor(asr.pool(), decode, *args, bytes(3200), RATE)
                           for _ in range(asr.pool()._max_workers)))
    cpu_before, wall_before = _support.process_tree_cpu(os.getpid()), time.monotonic()
    heard = await asyncio.gather(*(loop.run_in_executor(asr.pool(), decode, *args, audio.tobytes(), RATE)
                                   for _, _, _, audio in made))
    cpu = _support.process_tree_cpu(os.getpid()) - cpu_before
    wall = time.monotonic() - wall_before
    errors = sum(edit_distance(words(text), words(h)) for (text, *_), h in zip(made, heard, strict=True))
    total = sum(len(words(text)) for text, *_ in made)
    right = 0
    for (_, disposition, _, _), h in zip(made, heard, strict=True):
        right += await reached(script, h) == disposition
    speech_secs = sum(audio.size / RATE for *_, audio in made)
    return {"stack": stack, "utterances": len(made), "wer": errors / total,
            "intent_accuracy": right / len(made), "cpu_per_speech_sec": cpu / speech_secs,
            "wall_secs": wall, "examples": list(zip([m[0] for m in made[:3]], heard[:3], strict=True))}


# -- 2. turn-taking ------------------------------------------------------------------------

def turn_cases() -> list[tuple[np.ndarray, float, float | None, float | None, str]]:
    """(line audio with TRAILING_SECS of silence after, caller's real end, end of the inner pause or
    None, start of the inner pause or None, who: engine, pause and the words before it)."""
    cases = []
    renderings = [("espeak", "en-us", 165), ("piper", "joe", 1.0)]
    for n, (first, second) in enumerate(PAUSED):
        for engine, voice, speed in renderings:
            a, b = speak(first, engine, voice, speed), speak(second, engine, voice, speed)
            a = a[: int(speech_end(a) * RATE)]
            for pause in (0.6, 0.9, 1.2):
                gap = np.zeros(int(pause * RATE), dtype="<i2")
                audio = np.concatenate([a, gap, b, np.zeros(TRAILING_SECS * RATE, dtype="<i2")])
                resumed = (a.size + gap.size) / RATE
                cases.append((phone_line(audio, True, n), resumed + speech_end(b), resumed, a.size / RATE,
                              f"{engine} {pause:.1f}s {first!r}"))
    for n, text in enumerate(COMPLETE):
        for engine, voice, speed in renderings:
            a = speak(text, engine, voice, speed)
            audio = np.concatenate([a, np.zeros(TRAILING_SECS * RATE, dtype="<i2")])
            cases.append((phone_line(audio, True, 100 + n), speech_end(a), None, None, f"{engine} {text!r}"))
    return cases


def vad_states(audio: np.ndarray, params) -> list[bool]:
    """Per 20 ms frame: is the caller speaking, as the product's VAD (with `params`) says."""
    from pipecat.audio.vad.vad_analyzer import VADState

    from botruntime.vad import SharedSileroVADAnalyzer

    vad = SharedSileroVADAnalyzer(sample_rate=RATE, params=params)
    vad.set_sample_rate(RATE)
    speaking, states = False, []
    for start in range(0, audio.size - FRAME + 1, FRAME):
        # The analyzer's own per-frame step, which `analyze_audio` runs on its executor.
        state = vad._run_analyzer(audio[start:start + FRAME].tobytes())
        if state == VADState.SPEAKING:
            speaking = True
        elif state == VADState.QUIET:
            speaking = False
        states.append(speaking)
    return states


def silence_turn_end(states: list[bool], timeout: float, vad_stop: float) -> float | None:
    """The first moment the VAD (stop after `vad_stop`) has been quiet for the rest of `timeout`."""
    wait = timeout - vad_stop
    quiet_since = None
    for i, speaking in enumerate(states):
        t = (i + 1) * FRAME / RATE
        if speaking:
            quiet_since = None
        elif i and states[i - 1]:
            quiet_since = t
        if quiet_since is not None and t - quiet_since >= wait - 1e-9:
            return t
    return None


class SmartRule(NamedTuple):
    """A way of using Smart Turn: asked at each VAD stop (`vad_stop` s into a silence), its
    COMPLETE taken when P(finished) > `threshold` and accepted only once the caller has been
    quiet for `floor` s (dropped if they speak again first); `ceiling` s of silence after the
    VAD stop end the turn whatever it said (SmartTurnParams.stop_secs)."""

    name: str
    vad_stop: float
    threshold: float = 0.5
    floor: float = 0.0
    ceiling: float = 2.0


def smart_rules() -> list[SmartRule]:
    from botruntime import turns

    default = SmartRule("smart (default)", turns.SMART_TURN_VAD_PARAMS.stop_secs,
                        floor=turns.SMART_TURN_FLOOR_SECS, ceiling=turns.SMART_TURN_PARAMS.stop_secs)
    plain = default._replace(name="smart, no floor", floor=0.0, ceiling=2.0)  # Pipecat's own use
    return [default, plain,
            *(default._replace(name=f"smart floor {f:.1f}", floor=f) for f in SMART_FLOORS),
            *(plain._replace(name=f"smart fl{f:.1f} c2.0", floor=f) for f in SMART_FLOORS),
            *(plain._replace(name=f"smart asked {v:.1f}", vad_stop=v) for v in SMART_ASKED_AT),
            *(plain._replace(name=f"smart P>{p:g}", threshold=p) for p in SMART_THRESHOLDS)]


def smart_turn_end(audio: np.ndarray, states: list[bool], rule: SmartRule) -> float | None:
    """Smart Turn asked at each VAD stop, as TurnAnalyzerUserTurnStopStrategy asks it (and
    its buffer cleared on COMPLETE, as analyze_end_of_turn clears it); its own inference time
    is added to the moment it answers."""
    from pipecat.audio.turn.base_turn_analyzer import EndOfTurnState
    from pipecat.audio.turn.smart_turn.base_smart_turn import SmartTurnParams

    from botruntime.turns import SharedSmartTurnAnalyzer

    analyzer = SharedSmartTurnAnalyzer(sample_rate=RATE, params=SmartTurnParams(stop_secs=rule.ceiling))
    analyzer.set_sample_rate(RATE)
    accept_at = None
    for i, speaking in enumerate(states):
        t = (i + 1) * FRAME / RATE
        chunk = audio[i * FRAME:(i + 1) * FRAME].tobytes()
        if analyzer.append_audio(chunk, speaking) == EndOfTurnState.COMPLETE:
            return t  # Smart Turn's own silence limit (the rule's ceiling)
        if speaking:
            accept_at = None
        elif accept_at is not None and t >= accept_at - 1e-9:
            return accept_at
        if i and states[i - 1] and not speaking:
            started = time.perf_counter()
            _state, result = analyzer._process_speech_segment(analyzer._audio_buffer)
            answered = t + time.perf_counter() - started
            if result is not None and result.probability > rule.threshold:
                analyzer._clear(EndOfTurnState.COMPLETE)
                accept_at = max(answered, t - rule.vad_stop + rule.floor)
                if accept_at <= answered:
                    return answered
    return None


def turn_taking() -> tuple[list[dict], dict[str, list[float]], list[str]]:
    from pipecat.audio.vad.vad_analyzer import VADParams

    from botruntime.vad import PHONE_VAD_PARAMS

    cases = turn_cases()
    rules = smart_rules()
    outcomes: dict[str, list[tuple[float | None, float, float | None]]] = {}
    for audio, end, resumed, _paused, _who in cases:
        by_stop: dict[float, list[bool]] = {}
        for rule in rules:
            if rule.vad_stop not in by_stop:
                by_stop[rule.vad_stop] = vad_states(audio, VADParams(
                    confidence=PHONE_VAD_PARAMS.confidence, start_secs=PHONE_VAD_PARAMS.start_secs,
                    stop_secs=rule.vad_stop, min_volume=PHONE_VAD_PARAMS.min_volume))
            found = smart_turn_end(audio, by_stop[rule.vad_stop], rule)
            outcomes.setdefault(rule.name, []).append((found, end, resumed))
        phone = vad_states(audio, PHONE_VAD_PARAMS)
        for timeout in SILENCE_TIMEOUTS:
            found = silence_turn_end(phone, timeout, PHONE_VAD_PARAMS.stop_secs)
            outcomes.setdefault(f"silence {timeout:.1f}s", []).append((found, end, resumed))
    rows = []
    for rule, results in outcomes.items():
        cut = {n for n, (found, _end, resumed) in enumerate(results)
               if resumed is not None and found is not None and found < resumed + 0.05}
        latencies = [found - end for found, end, _ in results if found is not None and found >= end]
        never = sum(found is None for found, _end, _resumed in results)
        rows.append({"rule": rule, "median_latency_ms": round(statistics.median(latencies) * 1000),
                     "waited_long": sum(wait > LONG_WAIT_SECS for wait in latencies), "never": never,
                     "cut": cut, "paused": sum(r[2] is not None for r in results), "cases": len(results)})
    return rows, finished_probabilities(cases), [case[4] for case in cases]


def finished_probabilities(cases: list) -> dict[str, list[float]]:
    """Smart Turn's probability that the turn is finished 0.2 s (its VAD's stop) into each
    inner pause, and 0.2 s after each real end: how far apart the model holds them."""
    from botruntime import turns
    from botruntime.turns import SharedSmartTurnAnalyzer

    analyzer = SharedSmartTurnAnalyzer(sample_rate=RATE)
    analyzer.set_sample_rate(RATE)
    stop = turns.SMART_TURN_VAD_PARAMS.stop_secs

    def finished(audio: np.ndarray, until: float) -> float:
        heard = audio[: int((until + stop) * RATE)].astype(np.float32) / 32768.0
        return analyzer._predict_endpoint(heard)["probability"]

    found: dict[str, list[float]] = {"inner pause": [], "real end": []}
    for audio, end, _resumed, paused, _who in cases:
        if paused is not None:
            found["inner pause"].append(finished(audio, paused))
        found["real end"].append(finished(audio, end))
    return found


# -- 3. meaning ----------------------------------------------------------------------------

async def meaning_accuracy(phrase_set: dict[str, list[str]]) -> dict:
    from botruntime.script import ScriptedDialogue, merged_script

    script = merged_script({})
    by_keywords = by_meaning = asked = total = 0
    per: dict[str, list[int]] = {}
    for disposition, phrases in phrase_set.items():
        for text in phrases:
            keyword = ScriptedDialogue(script).respond(text).disposition == disposition
            got, asked_again = await first_turn(script, text)
            meant = got == disposition
            by_keywords += keyword
            by_meaning += meant
            asked += asked_again and not meant
            total += 1
            per.setdefault(disposition, [0, 0, 0])
            per[disposition][0] += keyword
            per[disposition][1] += meant
            per[disposition][2] += 1
    return {"keywords": by_keywords / total, "meaning": by_meaning / total, "phrases": total, "per": per,
            "asked_again": asked, "wrong": total - by_meaning - asked}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS))
    parts = parser.parse_args().parts
    setup_django()
    load = os.getloadavg()
    print(f"load average at start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} cores")
    if "recognition" in parts:
        await print_recognition()
    if "turns" in parts:
        print_turn_taking()
    if "meaning" in parts:
        await print_meaning()
    load = os.getloadavg()
    print(f"\nload average at end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


async def print_recognition() -> None:
    made = utterances()
    print(f"\n1. Recognition on the line: {len(made)} utterances "
          f"({len(SPOKEN)} sentences x {RENDERINGS_PER_SENTENCE} of {len(VOICES)} voice, speed and "
          "noise renderings)")
    results = [await recognition(stack, made) for stack in ("lite", "natural")]
    print(f"{'stack':8} {'WER':>6} {'intent':>7} {'cpu s / speech s':>17} {'wall s':>7}")
    for r in results:
        print(f"{r['stack']:8} {r['wer']:6.1%} {r['intent_accuracy']:7.1%} "
              f"{r['cpu_per_speech_sec']:17.2f} {r['wall_secs']:7.1f}")
    for r in results:
        for text, heard in r["examples"]:
            print(f"  {r['stack']:8} {text!r} -> {heard!r}")


def print_turn_taking() -> None:
    print("\n2. Turn-taking (caller stops -> turn ended; cut off = ended inside an inner pause)")
    rows, probabilities, who = turn_taking()
    print(f"{'rule':18} {'median ms':>9} {'cut off':>9} {'> ' + str(LONG_WAIT_SECS) + ' s':>7}  "
          "the fastest timeout cutting no more")
    timeouts = [row for row in rows if row["rule"].startswith("silence")]
    for row in rows:
        # "At equal cut-off rate": the fastest timeout that cuts off no more callers than this rule.
        equal = [t for t in timeouts if len(t["cut"]) <= len(row["cut"])]
        versus = ""
        if equal and not row["rule"].startswith("silence"):
            best = min(equal, key=lambda t: t["median_latency_ms"])
            versus = (f"{best['rule']} {len(best['cut'])} cut, {best['median_latency_ms']} ms "
                      f"(this rule {best['median_latency_ms'] - row['median_latency_ms']} ms sooner)")
        cut = f"{len(row['cut'])}/{row['paused']}"
        assert not row["never"], f"{row['rule']}: {row['never']} turns never ended"
        print(f"{row['rule']:18} {row['median_latency_ms']:>9} {cut:>9} {row['waited_long']:>7}  {versus}")
    for where, found in probabilities.items():
        above = sum(p > 0.5 for p in found)
        print(f"  Smart Turn's P(finished) at the {where}: median {statistics.median(found):.2f} "
              f"(range {min(found):.2f}-{max(found):.2f}), above 0.5 in {above}/{len(found)}")
    by_rule = {row["rule"]: row["cut"] for row in rows}
    reference = by_rule[f"silence {SILENCE_TIMEOUTS[0]:.1f}s"]
    print(f"\n  Who each rule cut off (* = the {SILENCE_TIMEOUTS[0]:.1f} s timeout cut them off too):")
    for rule, cut in by_rule.items():
        if not cut:
            continue
        inside = "all of them" if cut <= reference else f"{len(cut - reference)} it did not"
        print(f"  {rule}: {len(cut)}, of them cut by the {SILENCE_TIMEOUTS[0]:.1f} s timeout too: "
              f"{len(cut & reference)} ({inside})")
        for n in sorted(cut):
            print(f"    {'*' if n in reference else ' '} {who[n]}")


async def print_meaning() -> None:
    sets = (("Held-out paraphrases", PARAPHRASES), ("Fresh held-out paraphrases", FRESH_PARAPHRASES),
            ("Tuning phrases", TUNING))
    for label, phrase_set in sets:
        accuracy = await meaning_accuracy(phrase_set)
        print(f"\n3. {label} ({accuracy['phrases']}): keywords alone {accuracy['keywords']:.1%}, "
              f"keywords + meaning {accuracy['meaning']:.1%}; of the misses {accuracy['asked_again']} "
              f"asked again, {accuracy['wrong']} reached another disposition")
        for disposition, (keyword, meant, total) in accuracy["per"].items():
            print(f"  {disposition or '(none)':20} keywords {keyword:>2}/{total}  meaning {meant:>2}/{total}")


if __name__ == "__main__":
    asyncio.run(main())
