"""The callee's ears: did the other side say what a scenario's `expect` step waits for?

The audio a callee heard (the app's stream, or the person it is bridged to) is decoded with
pocketsphinx, in one spawned worker process: a decode holds the GIL for a good fraction of
a second, which would stall every call's 20 ms media clock if it ran in this process.

The language model is built from the expected phrase *and* a few hundred common words, so
speech that is not the phrase decodes to other words instead of being forced onto it; the
check passes when enough of the phrase's words were heard (`min_match`, 60 % by default).
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import re
import tempfile
import threading
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np

WORD = re.compile(r"[a-z0-9']+")
MODEL_RATE = 16000  # pocketsphinx's en-us acoustic model
LANGUAGE_WEIGHT = 6.5
CACHE_DIR = Path(tempfile.gettempdir()) / "twilio-emulator-hearing"


def words(text: str) -> list[str]:
    return WORD.findall(text.lower().replace("\u2019", "'"))


# Words that say nothing about whether the phrase was heard.
STOP_WORDS = frozenset(words(
    "a an the and or but of to in on at for with is are was were be been am i you he she "
    "it we they me him her us them my your his its our their this that these those do does "
    "did has have had will would can could shall should may might must so if as by from "
    "up out about into than then there here"))
# Everyday words a bot or a person may say instead of the expected phrase.
DISTRACTORS = words(
    "hello hi yes no okay thank thanks you please sorry goodbye bye good morning afternoon "
    "evening call calling called back later tomorrow today week time number phone email "
    "send sent details offer plan price account customer service help question questions "
    "interested not want need like would could talk speak person someone agent manager "
    "sales team company business name this is from about your our my we they he she it "
    "the a an and or but so because when where what who why how which one two three four "
    "five six seven eight nine ten hundred thousand minute minutes hour hours day days "
    "right now wait hold moment transfer connect connecting line busy free again remove "
    "list stop message voicemail leave beep there here great fine well sure maybe really "
    "very much more less new old free money pay bill card order delivery product problem "
    "issue appointment schedule book booked meeting monday tuesday wednesday thursday "
    "friday saturday sunday morning night next last first best all some any every")


def match_ratio(expected: str, heard: str) -> tuple[float, list[str]]:
    """The share of the expected phrase's meaningful words that were heard, and the missing."""
    wanted = [word for word in dict.fromkeys(words(expected)) if word not in STOP_WORDS]
    if not wanted:
        wanted = list(dict.fromkeys(words(expected)))
    got = set(words(heard))
    missing = [word for word in wanted if word not in got]
    return (1.0 - len(missing) / len(wanted)) if wanted else 1.0, missing


def _model(expected: str) -> tuple[str, str]:
    """Dictionary and language model for the phrase plus the distractors, cached on disk."""
    from pocketsphinx import get_model_path
    from pocketsphinx.lm import ArpaBoLM

    identity = "\n".join([expected, str(LANGUAGE_WEIGHT), *DISTRACTORS])
    key = hashlib.sha256(identity.encode()).hexdigest()[:16]
    directory = CACHE_DIR / key
    dict_path, lm_path = directory / "words.dict", directory / "model.arpa"
    if dict_path.exists() and lm_path.exists():
        return str(dict_path), str(lm_path)
    vocabulary = set(words(expected)) | set(DISTRACTORS)
    entries, known = [], set()
    with open(get_model_path("en-us/cmudict-en-us.dict")) as cmudict:
        for line in cmudict:
            word = line.split(" ", 1)[0].split("(", 1)[0]
            if word in vocabulary:
                entries.append(line)
                known.add(word)
    phrase = " ".join(word for word in words(expected) if word in known)
    # The phrase as a sentence (its word order is likely), every distractor as its own.
    corpus = [phrase] * 3 + sorted(known)
    lm = ArpaBoLM(text="\n".join(line for line in corpus if line), add_start=True,
                  case="lower", discount_mass=0.4)
    lm.compute()
    arpa = io.StringIO()
    lm.write(arpa)
    directory.mkdir(parents=True, exist_ok=True)
    for path, text in ((dict_path, "".join(entries)), (lm_path, arpa.getvalue())):
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(text)
        temporary.replace(path)  # atomic: emulators in parallel never read half a file
    return str(dict_path), str(lm_path)


_decoders: dict[str, object] = {}


def transcribe(expected: str, pcm: bytes) -> str:
    """What 8 kHz 16-bit speech says, decoded towards `expected`; runs in the worker."""
    import soxr
    from pocketsphinx import Decoder, get_model_path

    samples = np.frombuffer(pcm, dtype="<i2")
    loud = np.flatnonzero(np.abs(samples) > 64)
    if loud.size == 0:
        return ""
    samples = samples[max(0, loud[0] - 2400):loud[-1] + 2400]
    # Digital silence (exact zeros) confuses the decoder's noise estimate: faint line noise.
    noise = np.rint(np.random.default_rng(0).normal(0.0, 32.0, samples.size))
    samples = np.where(samples == 0, noise, samples).astype("<i2")
    samples = soxr.resample(samples, 8000, MODEL_RATE).astype("<i2")
    decoder = _decoders.get(expected)
    if decoder is None:
        dict_path, lm_path = _model(expected)
        decoder = _decoders[expected] = Decoder(hmm=get_model_path("en-us/en-us"), dict=dict_path,
                                                lm=lm_path, lw=LANGUAGE_WEIGHT, loglevel="FATAL")
    decoder.start_utt()
    decoder.process_raw(samples.tobytes(), full_utt=True)
    decoder.end_utt()
    hypothesis = decoder.hyp()
    return hypothesis.hypstr if hypothesis is not None else ""


class Hearing:
    """One worker process, started on first use, shared by every call of an emulator."""

    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    async def transcribe(self, expected: str, pcm: bytes) -> str:
        with self._lock:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn"))
        return await asyncio.wrap_future(self._pool.submit(transcribe, expected, pcm))

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
