"""Why Smart Turn cuts the bench's paused callers off: its own P(finished), caller by caller.

    .venv/bin/python bench/smart_turn_probe.py      # about a minute of one core; no lock needed

Each of bench/voice_quality_phrases.PAUSED (a sentence with a 0.9 s pause inside) is spoken by
espeak-ng (en-us, 165 wpm) and the packaged Piper voice, and Smart Turn (the product's shared
session, as `botruntime.turns` builds it) is asked 0.2 s into the inner pause (when the VAD
stops) and 0.2 s after the real end, on three renderings:

- apart: the first part synthesised on its own, then the pause, then the rest (the turn-taking
  bench's callers), over the phone line (line noise, μ-law 8 kHz; the analyzer resamples to
  its 16 kHz);
- wideband: the same at 16 kHz straight from the voices, no phone line: what the narrow band
  costs;
- within: the first part spoken as the start of the whole sentence, as a person who pauses
  says it (espeak-ng: an SSML break inside the sentence; Piper: the whole sentence cut at the
  first part's last word, found by Whisper's word timestamps), over the phone line.

Then, on the apart rendering, later into the pause (0.4-0.8 s): whether waiting longer would
let the model tell the two apart. A rule can only be as good as the model holds the inner
pauses (should be low) and the real ends (should be high) apart.
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import voice_quality as vq
from bench.voice_quality_phrases import PAUSED

PAUSE_SECS = 0.9
VAD_STOP_SECS = 0.2  # botruntime.turns.SMART_TURN_VAD_PARAMS.stop_secs
LATER = (0.4, 0.6, 0.8)
ENGINES = ("espeak", "piper")


def trimmed(samples: np.ndarray, rate: int) -> np.ndarray:
    return samples[: int(vq.speech_end(samples, rate) * rate)]


def apart(first: str, second: str, engine: str, rate: int) -> tuple[np.ndarray, np.ndarray]:
    def speak(text: str) -> np.ndarray:
        return vq.espeak(text, "en-us", 165, rate) if engine == "espeak" else vq.piper(text, 1.0, rate)

    return trimmed(speak(first), rate), speak(second)


def within(first: str, second: str, engine: str, whisper) -> tuple[np.ndarray, np.ndarray]:
    """The two parts of one sentence, said as one sentence, split where the pause goes."""
    rate = vq.RATE
    if engine == "espeak":
        whole = vq.espeak(f'{first} <break time="{int(PAUSE_SECS * 1000)}ms"/> {second}', "en-us", 165,
                          ssml=True)
        frame = rate // 50
        loud = vq.loud_frames(whole)
        quiet = np.flatnonzero(~loud[1:] & loud[:-1]) + 1  # speech -> quiet edges
        spoken = np.flatnonzero(loud[1:] & ~loud[:-1]) + 1  # quiet -> speech edges
        # the break: the longest quiet run between two stretches of speech
        start, end = max(((q, next(s for s in spoken if s > q)) for q in quiet if any(s > q for s in spoken)),
                         key=lambda run: run[1] - run[0])
        return whole[: start * frame], whole[end * frame:]
    from twilio_emulator.audio import resample

    whole = vq.piper(f"{first} {second}", 1.0)
    segments, _ = whisper.transcribe(resample(whole, rate, 16000).astype(np.float32) / 32768.0, language="en",
                                     word_timestamps=True, condition_on_previous_text=False)
    words = [word for segment in segments for word in segment.words]
    last = len(vq.words(first)) - 1
    return trimmed(whole[: int(words[last].end * rate)], rate), whole[int(words[last + 1].start * rate):]


def probe(analyzer, first_part: np.ndarray, rest: np.ndarray, rate: int, line: bool, seed: int,
          offsets: tuple[float, ...] = (VAD_STOP_SECS,)) -> tuple[list[float], list[float]]:
    """P(finished) at each offset into the inner pause and after the real end."""
    gap = np.zeros(int(PAUSE_SECS * rate), dtype="<i2")
    audio = np.concatenate([first_part, gap, rest, np.zeros(rate, dtype="<i2")])
    if line:
        audio = vq.phone_line(audio, True, seed)
    end = (first_part.size + gap.size) / rate + vq.speech_end(rest, rate)

    def finished(until: float) -> float:
        heard = audio[: int(until * rate)].astype(np.float32) / 32768.0
        return analyzer._predict_endpoint(heard)["probability"]

    return [finished(first_part.size / rate + o) for o in offsets], [finished(end + o) for o in offsets]


def summary(label: str, inner: list[float], real: list[float]) -> str:
    return (f"{label:34} inner pause: median {statistics.median(inner):.2f}, above 0.5 in "
            f"{sum(p > 0.5 for p in inner):2}/{len(inner)}   real end: median {statistics.median(real):.2f}, "
            f"above 0.5 in {sum(p > 0.5 for p in real):2}/{len(real)}")


def main() -> None:
    vq.setup_django()
    from faster_whisper import WhisperModel

    from botruntime import natural
    from botruntime.turns import SharedSmartTurnAnalyzer

    analyzers = {}
    for rate in (vq.RATE, 16000):
        analyzers[rate] = SharedSmartTurnAnalyzer(sample_rate=rate)
        analyzers[rate].set_sample_rate(rate)
    whisper = WhisperModel(natural.models().whisper_dir, device="cpu", compute_type="int8", cpu_threads=1)
    found: dict[str, tuple[list[float], list[float]]] = {k: ([], []) for k in ("apart", "wideband", "within")}
    later: dict[float, tuple[list[float], list[float]]] = {o: ([], []) for o in LATER}
    print(f"Smart Turn's P(finished) {VAD_STOP_SECS} s into a {PAUSE_SECS} s inner pause / "
          f"{VAD_STOP_SECS} s after the real end")
    print(f"{'voice':7} {'caller (before the pause)':28} {'apart':>11} {'wideband':>11} {'within':>11}")
    for n, (first, second) in enumerate(PAUSED):
        for engine in ENGINES:
            row = []
            renderings = (("apart", apart(first, second, engine, vq.RATE), vq.RATE, True),
                          ("wideband", apart(first, second, engine, 16000), 16000, False),
                          ("within", within(first, second, engine, whisper), vq.RATE, True))
            for name, (a, b), rate, line in renderings:
                offsets = (VAD_STOP_SECS, *LATER) if name == "apart" else (VAD_STOP_SECS,)
                inner, real = probe(analyzers[rate], a, b, rate, line, n, offsets)
                found[name][0].append(inner[0])
                found[name][1].append(real[0])
                for o, p, q in zip(LATER, inner[1:], real[1:], strict=False):
                    later[o][0].append(p)
                    later[o][1].append(q)
                row.append(f"{inner[0]:.2f} / {real[0]:.2f}")
            print(f"{engine:7} {first:28} " + " ".join(f"{cell:>11}" for cell in row))
    print()
    for name, (inner, real) in found.items():
        print(summary(name, inner, real))
    for o, (inner, real) in later.items():
        print(summary(f"apart, asked {o:.1f} s into the silence", inner, real))


if __name__ == "__main__":
    main()
