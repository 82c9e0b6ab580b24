"""Pocketsphinx speech recognition in worker processes.

pocketsphinx holds the GIL for a whole decode (0.67 s for a 2.7 s utterance measured here),
so decoding runs in a small pool of spawned processes, never on the event loop. Its stock
English language model is slow and hears nonsense on phone audio; each campaign gets a
small n-gram model and dictionary built from its script's phrases instead, cached on disk
by content hash and kept loaded in each worker.

This module is imported by the worker processes: it must not import Django.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import tempfile
import threading
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context, parent_process
from multiprocessing.connection import wait
from pathlib import Path

import numpy as np
from django.conf import settings

WORD_RE = re.compile(r"[a-z0-9']+")
MODEL_RATE = 16000  # the bundled en-us acoustic model is trained on 16 kHz audio
CACHE_DIR = Path(os.environ.get("BOT_ASR_CACHE", Path(tempfile.gettempdir()) / "dialer-asr"))
# Tuned on espeak speech sent through the emulator's μ-law line: a low discount trusts the
# script's phrases, and the default language weight lets the acoustics pick between them.
DISCOUNT_MASS = 0.2
LANGUAGE_WEIGHT = 6.5

# How a segment is conditioned before decoding (see `condition`): the silence kept either
# side of the speech, and the line noise put where the audio is digitally silent (RMS on
# the 16-bit scale; 32 is about -60 dBFS, a quiet phone line).
EDGE_SILENCE_SECS = 0.3
NOISE_FLOOR_RMS = 32.0

DECODER_OPTIONS: dict = {}

_decoders: dict[str, object] = {}


def normalize(text: str) -> str:
    return " ".join(WORD_RE.findall(text.lower().replace("\u2019", "'")))


def vocabulary_key(phrases: tuple[str, ...]) -> str:
    return hashlib.sha256("\n".join(phrases).encode()).hexdigest()[:16]


def _model_files(phrases: tuple[str, ...]) -> tuple[str, str]:
    from pocketsphinx import get_model_path
    from pocketsphinx.lm import ArpaBoLM

    key = vocabulary_key(phrases)
    directory = CACHE_DIR / key
    dict_path, lm_path = directory / "words.dict", directory / "phrases.arpa"
    if dict_path.exists() and lm_path.exists():
        return str(dict_path), str(lm_path)

    directory.mkdir(parents=True, exist_ok=True)
    wanted = {word for phrase in phrases for word in phrase.split()}
    known: set[str] = set()
    entries = []
    with open(get_model_path("en-us/cmudict-en-us.dict")) as cmudict:
        for line in cmudict:
            word = line.split(" ", 1)[0]
            if word.split("(", 1)[0] in wanted:
                entries.append(line)
                known.add(word.split("(", 1)[0])
    # Words the dictionary cannot pronounce would make the decoder refuse the model.
    corpus = [" ".join(w for w in p.split() if w in known) for p in phrases]
    corpus = [line for line in corpus if line]
    lm = ArpaBoLM(text="\n".join(corpus), add_start=True, case="lower", discount_mass=DISCOUNT_MASS)
    lm.compute()
    arpa = io.StringIO()
    lm.write(arpa)

    # Write then rename: several workers may build the same model at once.
    for path, text in ((dict_path, "".join(entries)), (lm_path, arpa.getvalue())):
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(text)
        temporary.replace(path)
    return str(dict_path), str(lm_path)


def _decoder(phrases: tuple[str, ...]):
    """A decoder for these phrases; no phrases means the packaged open English model
    (its 130,000-word dictionary and general trigram model, with their own weight)."""
    key = vocabulary_key(phrases)
    decoder = _decoders.get(key)
    if decoder is None:
        from pocketsphinx import Decoder, get_model_path

        if phrases:
            dict_path, lm_path = _model_files(phrases)
            options = {"lw": LANGUAGE_WEIGHT}
        else:
            dict_path = get_model_path("en-us/cmudict-en-us.dict")
            lm_path = get_model_path("en-us/en-us.lm.bin")
            options = {}
        decoder = Decoder(
            hmm=get_model_path("en-us/en-us"),
            dict=dict_path,
            lm=lm_path,
            loglevel="FATAL",
            **options,
            **DECODER_OPTIONS,
        )
        _decoders[key] = decoder
    return decoder


def condition(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """Make digital silence look like a phone line, as the acoustic model expects.

    A segment arrives with runs of exact zeros: Twilio's (and the emulator's) silence frames
    decode to 0, and Pipecat pads each segment with up to 1 s of pre-roll and 0.5 s of zeros
    after it. pocketsphinx takes the log of each frame's energy, estimates the noise from
    the first frames (`-remove_noise`) and subtracts the utterance's mean cepstrum
    (`-cmn batch`); long stretches of exact zeros skew all three, and the first words went
    wrong ("no thanks i am not interested" heard as "okay in the"). So: keep only
    EDGE_SILENCE_SECS of silence either side of the speech and fill the zeros left with
    faint noise (fixed seed: the same audio always decodes the same way). On the emulator's
    callee phrases, with 1 s of silence either side, exact transcripts went from 1 of 13
    to 11 of 13.
    """
    sound = np.flatnonzero(samples)
    if sound.size == 0:
        return samples
    edge = int(EDGE_SILENCE_SECS * sample_rate)
    samples = samples[max(0, sound[0] - edge):sound[-1] + 1 + edge]
    noise = np.random.default_rng(0).normal(0.0, NOISE_FLOOR_RMS, samples.size)
    filled = np.where(samples == 0, np.rint(noise), samples)
    return np.clip(filled, -32768, 32767).astype("<i2")


def transcribe(phrases: tuple[str, ...], pcm: bytes, sample_rate: int) -> str:
    """Decode 16-bit mono PCM; runs inside a worker process."""
    return " ".join(word for word, _start, _end in recognise(phrases, pcm, sample_rate))


# Decoder frames per second (pocketsphinx's default -frate).
FRAMES_PER_SECOND = 100


def recognise(phrases: tuple[str, ...], pcm: bytes, sample_rate: int) -> list[tuple[str, float, float]]:
    """The words heard in 16-bit mono PCM, each with its start and end in seconds from
    the start of `pcm`; runs inside a worker process."""
    import soxr

    samples = np.frombuffer(pcm, dtype="<i2")
    sound = np.flatnonzero(samples)
    # `condition` trims the silence before the speech: word times are shifted back by it.
    trimmed = max(0, sound[0] - int(EDGE_SILENCE_SECS * sample_rate)) if sound.size else 0
    trimmed_secs = trimmed / sample_rate
    samples = condition(samples, sample_rate)
    if sample_rate != MODEL_RATE:
        samples = soxr.resample(samples, sample_rate, MODEL_RATE).astype("<i2")
    decoder = _decoder(phrases)
    decoder.start_utt()
    decoder.process_raw(samples.tobytes(), full_utt=True)
    decoder.end_utt()
    if decoder.hyp() is None:
        return []
    words = []
    for segment in decoder.seg():
        word = segment.word.split("(", 1)[0]  # "the(2)": the dictionary's second pronunciation
        if word.startswith(("<", "[")):  # <s>, </s>, <sil>, [NOISE]
            continue
        words.append((word, round(trimmed_secs + segment.start_frame / FRAMES_PER_SECOND, 3),
                      round(trimmed_secs + (segment.end_frame + 1) / FRAMES_PER_SECOND, 3)))
    return words


def _ping() -> int:
    return os.getpid()


def _exit_with_parent() -> None:
    """A worker's initializer: exit as soon as the process that made the pool is gone, even
    killed with SIGKILL (which lets no executor shut down). An orphaned worker would keep
    the web process's stdout open, and `make run`'s manager, which waits for that pipe to
    close, would never see the web process die and never start it again."""
    parent = parent_process()

    def watch() -> None:
        wait([parent.sentinel])
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


_pool: ProcessPoolExecutor | None = None
_pool_lock = threading.Lock()


def pool(workers: int = 0) -> ProcessPoolExecutor:
    """The process's speech worker pool: pocketsphinx here, and Whisper, Piper and the intent
    encoder (`botruntime.neural`) for the natural stack and the agent. Spawned, not forked:
    daphne's threads must not be copied. Its size, fixed by the first call: `workers`, else
    BOT_ASR_WORKERS, else `default_workers()` (a process without Django settings, like the
    voice emulators, passes `workers`)."""
    global _pool
    if _pool is None:
        with _pool_lock:
            if _pool is None:
                workers = workers or settings.BOT_ASR_WORKERS or default_workers()
                _pool = ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"),
                                            initializer=_exit_with_parent)
    return _pool


def default_workers() -> int:
    """The host's cores shared out among its web processes (each has a pool of its own)."""
    return max(1, (os.cpu_count() or 2) // max(1, settings.WEB_PROCESSES))


def warm_up(phrases: tuple[str, ...] | None = None) -> None:
    """Start the workers (and optionally load a vocabulary) before the first call needs them."""
    executor = pool()
    workers = executor._max_workers
    if phrases:
        futures = [executor.submit(transcribe, phrases, bytes(3200), 8000) for _ in range(workers)]
    else:
        futures = [executor.submit(_ping) for _ in range(workers)]
    for future in futures:
        future.result(timeout=60)
