"""The scripted agent by meaning: keywords first, then the closest rule by sentence
embeddings (the packaged all-MiniLM-L6-v2 in the speech worker pool), and asking again
when it is not sure."""

import asyncio

import numpy as np
import pytest

from botruntime import intents
from botruntime.script import DEFAULT_SCRIPT, ScriptedDialogue, merged_script


def reply(heard: str, script: dict | None = None):
    """What a fresh dialogue does with `heard`, the meaning computed as the agent does."""
    script = merged_script(script)
    talk = ScriptedDialogue(script)
    meaning = None if talk.keyword_rule(heard) is not None else asyncio.run(intents.meaning(script, heard))
    return talk.respond(heard, meaning), meaning


@pytest.mark.parametrize(("heard", "disposition"), [
    ("I'd love to hear more about it", "interested"),
    ("we don't need that", "not_interested"),
    ("ring me on thursday", "callback_requested"),
    ("I think you dialed incorrectly", "wrong_number"),
    ("stop ringing this phone", "do_not_call"),
    ("delete my details", "do_not_call"),
])
def test_it_understands_what_the_caller_means_without_a_keyword(heard, disposition):
    action, meaning = reply(heard)
    assert meaning is not None and meaning.rule is not None
    assert action.disposition == disposition


def test_it_asks_again_instead_of_guessing_when_nothing_is_close():
    action, meaning = reply("what's the weather like")
    assert meaning.rule is None
    assert action.disposition == "" and not action.end
    assert action.say == [DEFAULT_SCRIPT["fallback"], DEFAULT_SCRIPT["questions"][0]]


def test_a_reply_to_the_line_not_the_question_is_asked_again():
    # Near the script's unrelated examples, however near it is (well above MIN_SIMILARITY).
    action, meaning = reply("sorry, you're breaking up")
    assert meaning.rule is None and meaning.similarity > intents.MIN_SIMILARITY
    assert action.disposition == "" and not action.end


@pytest.mark.parametrize(("heard", "disposition"), [
    ("no", "not_interested"),
    ("no more of these calls", "do_not_call"),
])
def test_a_no_means_what_the_rest_of_the_reply_says(heard, disposition):
    # "no" is no keyword: it would make "no more of these calls" a plain not interested.
    action, meaning = reply(heard)
    assert meaning is not None
    assert action.disposition == disposition


def test_the_rule_with_more_near_examples_wins_over_one_lucky_example():
    rules = np.array([0, 0, 0, 1, 1, 1])
    vectors = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0],   # rule 0: one example on the spot
                        [0.9, 0.44], [0.9, 0.44], [0.0, 1.0]])  # rule 1: two close ones
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    found = intents.closest(rules, vectors, np.array([1.0, 0.0]))
    assert found.rule == 1 and found.margin > intents.MIN_MARGIN


def test_a_keyword_overrides_the_meaning():
    # "sure, sounds good" would mean interested anyway; a keyword is an exact rule of the
    # script, so the agent never even asks the encoder.
    talk = ScriptedDialogue(merged_script({}))
    assert talk.keyword_rule("sure, sounds good") is not None
    action = talk.respond("sure, sounds good", intents.Meaning(rule=1, similarity=0.9, margin=0.5))
    assert action.disposition == "interested"


def test_a_campaigns_own_rule_is_matched_by_its_examples():
    script = {"rules": [
        {"keywords": ["bananas"], "examples": ["i would like some fruit"], "disposition": "interested",
         "reply": "Fruit it is.", "end": True},
    ]}
    action, meaning = reply("could you send me apples and pears", script)
    assert meaning.rule == 0 and action.say[0] == "Fruit it is."


def test_the_default_scripts_transfer_rule_hears_a_caller_asking_for_a_person_by_meaning():
    person = next(i for i, rule in enumerate(DEFAULT_SCRIPT["rules"]) if rule.get("transfer"))
    action, meaning = reply("could i talk to an actual human")
    assert meaning.rule == person and action.transfer and action.reason == "asked for a person"
    action, _ = reply("we don't need that")
    assert action.disposition == "not_interested"


@pytest.mark.parametrize("heard", [
    "I really don't want to hear about it",
    "no, I would not like that",
    "I don't think that would suit me",
])
def test_a_caller_who_says_no_to_the_offer_is_not_taken_as_interested(heard):
    # The encoder hardly hears the "not": these are neighbours of "i want to hear about it",
    # "i would like that" and "that sounds interesting" unless the polarity counts.
    action, meaning = reply(heard)
    assert meaning.rule is not None
    assert action.disposition == "not_interested"


def test_an_example_that_says_no_where_the_caller_did_not_counts_less_near():
    rules = np.array([0, 1])
    vectors = np.array([[1.0, 0.0], [0.96, 0.28]])  # rule 0 nearer, but it says no
    negations = np.array([True, False])
    heard = np.array([1.0, 0.0])
    assert intents.closest(rules, vectors, heard).rule == 0
    assert intents.closest(rules, vectors, heard, negations, heard_negated=False).rule == 1
    assert intents.closest(rules, vectors, heard, negations, heard_negated=True).rule == 0


@pytest.mark.parametrize(("text", "says_no"), [
    ("absolutely not", True), ("I don't want it", True), ("nope", True), ("nobody called that here", True),
    ("absolutely", False), ("I want it", False), ("note that down", False),
])
def test_it_knows_a_reply_that_says_no(text, says_no):
    assert intents.negated(text) is says_no
