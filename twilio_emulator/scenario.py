"""Who answers which number, and what they say: the callee scenario.

A scenario file (YAML or JSON) lists callees matched by exact number or by regular
expression, plus a fallback for every other number:

    defaults: {ring: 2, turn_silence: 0.7, first_turn_timeout: 8}
    callees:
      - number: "+12025550101"          # exact E.164 match, checked before patterns
        behaviour: answer
        script:
          - say: "Yes, I am interested."
      - pattern: "04$"                  # re.search against the E.164 number
        behaviour: busy
    fallback:
      behaviour: answer
      script: [{say: "Hello? Who is this?"}, {hangup: true}]
    numbers:                            # the account's own (IncomingPhoneNumbers)
      - {phone_number: "+12025550100", friendly_name: "Washington"}
    lose_webhooks:                      # requests Twilio could not deliver
      - {url: "/twilio/conference/", params: {StatusCallbackEvent: participant-join}}

See README.md for every behaviour and script step.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from .numbers import IncomingNumber, NumberError
from .speech import VOICES
from .webhooks import WebhookLoss

BEHAVIOURS = ("answer", "busy", "decline", "no-answer", "failed", "machine")
STEP_KINDS = ("say", "barge_in", "pause", "silence", "dtmf", "hangup", "hangup_after", "wav",
              "expect")
EXPECT_WITHIN_SECONDS = 30.0  # how long an `expect` step listens for its phrase
EXPECT_MIN_MATCH = 0.6  # share of the phrase's words that must be heard
_TEXT_STEPS = ("say", "barge_in")
_SECONDS_STEPS = ("pause", "silence", "hangup_after")


class ScenarioError(ValueError):
    """The scenario file does not describe valid callees."""


@dataclass(frozen=True)
class Step:
    kind: str
    text: str = ""
    seconds: float = 0.0
    digits: str = ""
    path: Path | None = None
    min_match: float = 0.0  # expect: share of the phrase's words that must be heard

    @classmethod
    def parse(cls, raw: Any, base_dir: Path) -> Step:
        if not isinstance(raw, dict) or len(raw) != 1:
            raise ScenarioError(f"a script step is a one-key mapping like {{say: ...}}, got {raw!r}")
        ((kind, value),) = raw.items()
        if kind not in STEP_KINDS:
            raise ScenarioError(f"unknown script step {kind!r}; expected one of {STEP_KINDS}")
        if kind in _TEXT_STEPS:
            return cls(kind, text=str(value))
        if kind in _SECONDS_STEPS:
            return cls(kind, seconds=float(value))
        if kind == "dtmf":
            digits = str(value)
            if not re.fullmatch(r"[0-9*#]+", digits):
                raise ScenarioError(f"dtmf digits must be 0-9, * or #, got {digits!r}")
            return cls(kind, digits=digits)
        if kind == "expect":
            # `expect: "words"` or `expect: {text: "words", within: 30, min_match: 0.6}`
            spec = value if isinstance(value, dict) else {"text": value}
            if not str(spec.get("text") or "").strip():
                raise ScenarioError(f"an expect step needs the words to listen for, got {raw!r}")
            try:
                within = float(spec.get("within", EXPECT_WITHIN_SECONDS))
                min_match = float(spec.get("min_match", EXPECT_MIN_MATCH))
            except (TypeError, ValueError):
                raise ScenarioError(f"expect: within and min_match are numbers, got {raw!r}") from None
            if not 0 < min_match <= 1:
                raise ScenarioError(f"expect: min_match is a share between 0 and 1, got {min_match}")
            return cls(kind, text=str(spec["text"]), seconds=within, min_match=min_match)
        if kind == "wav":
            path = Path(str(value))
            return cls(kind, path=path if path.is_absolute() else base_dir / path)
        return cls(kind)  # hangup: any value means "hang up now"


@dataclass(frozen=True)
class Callee:
    behaviour: str = "answer"
    name: str = ""
    ring: float = 2.0  # seconds of ringing before the callee answers (or gives up: busy)
    script: tuple[Step, ...] = ()
    # How long the bot must stay quiet before the callee takes its turn.
    turn_silence: float = 0.7
    # If the bot never speaks, the callee speaks anyway after this long.
    first_turn_timeout: float = 8.0
    greeting: str = ""  # answering machine greeting, followed by a beep
    listen: float = 20.0  # answering machine: seconds recording the message before hanging up
    # Forces the AMD result instead of deriving it from the behaviour.
    answered_by: str | None = None
    voice: str = "espeak"  # who speaks the callee's lines: "espeak" (espeak-ng) or "piper"

    @classmethod
    def parse(cls, raw: dict[str, Any], defaults: dict[str, Any], base_dir: Path) -> Callee:
        merged = {**defaults, **raw}
        behaviour = merged.get("behaviour", merged.get("behavior", "answer"))
        if behaviour not in BEHAVIOURS:
            raise ScenarioError(f"unknown behaviour {behaviour!r}; expected one of {BEHAVIOURS}")
        voice = str(merged.get("voice", cls.voice))
        if voice not in VOICES:
            raise ScenarioError(f"unknown voice {voice!r}; expected one of {VOICES}")
        script = tuple(Step.parse(step, base_dir) for step in merged.get("script") or ())
        return cls(
            behaviour=behaviour,
            name=str(merged.get("name", behaviour)),
            ring=float(merged.get("ring", cls.ring)),
            script=script,
            turn_silence=float(merged.get("turn_silence", cls.turn_silence)),
            first_turn_timeout=float(merged.get("first_turn_timeout", cls.first_turn_timeout)),
            greeting=str(merged.get("greeting", "")),
            listen=float(merged.get("listen", cls.listen)),
            answered_by=merged.get("answered_by"),
            voice=voice,
        )

    def phrases(self) -> list[str]:
        """Every text this callee may speak, to synthesise ahead of time."""
        spoken = [step.text for step in self.script if step.kind in _TEXT_STEPS]
        return [self.greeting, *spoken] if self.greeting else spoken


def webhook_loss(raw: Any) -> WebhookLoss:
    """`{url: "/twilio/conference/", params: {StatusCallbackEvent: participant-join}, times: 1}`"""
    if not isinstance(raw, dict) or not raw.get("url"):
        raise ScenarioError(f"lose_webhooks: each entry needs a url pattern, got {raw!r}")
    params = raw.get("params") or {}
    if not isinstance(params, dict):
        raise ScenarioError(f"lose_webhooks: params is a mapping of parameter to value, got {params!r}")
    try:
        url = re.compile(str(raw["url"]))
        times = int(raw["times"]) if raw.get("times") is not None else None
    except re.error as exc:
        raise ScenarioError(f"lose_webhooks: bad url pattern {raw['url']!r}: {exc}") from exc
    except (TypeError, ValueError):
        raise ScenarioError(f"lose_webhooks: times is a number, got {raw.get('times')!r}") from None
    return WebhookLoss(url, {str(k): str(v) for k, v in params.items()}, times)


@dataclass
class Scenario:
    exact: dict[str, Callee] = field(default_factory=dict)
    patterns: list[tuple[re.Pattern[str], Callee]] = field(default_factory=list)
    fallback: Callee = field(default_factory=Callee)
    numbers: list[IncomingNumber] = field(default_factory=list)
    lost_webhooks: list[WebhookLoss] = field(default_factory=list)

    def callee_for(self, number: str) -> Callee:
        if number in self.exact:
            return self.exact[number]
        for pattern, callee in self.patterns:
            if pattern.search(number):
                return callee
        return self.fallback

    def with_ring(self, seconds: float) -> Scenario:
        """The same callees with a different ring time (tests keep calls short)."""
        return Scenario(
            exact={number: replace(c, ring=seconds) for number, c in self.exact.items()},
            patterns=[(p, replace(c, ring=seconds)) for p, c in self.patterns],
            fallback=replace(self.fallback, ring=seconds),
            numbers=self.numbers,
            lost_webhooks=self.lost_webhooks,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any], base_dir: Path | None = None) -> Scenario:
        base_dir = base_dir or Path.cwd()
        if not isinstance(data, dict):
            raise ScenarioError("a scenario is a mapping with 'callees' and 'fallback'")
        defaults = data.get("defaults") or {}
        scenario = cls(fallback=Callee.parse(data.get("fallback") or {}, defaults, base_dir))
        try:
            scenario.numbers = [IncomingNumber.parse(entry) for entry in data.get("numbers") or ()]
        except NumberError as exc:
            raise ScenarioError(f"numbers: {exc}") from exc
        scenario.lost_webhooks = [webhook_loss(entry) for entry in data.get("lose_webhooks") or ()]
        for entry in data.get("callees") or ():
            callee = Callee.parse(entry, defaults, base_dir)
            if "number" in entry:
                scenario.exact[str(entry["number"])] = callee
            elif "pattern" in entry:
                try:
                    scenario.patterns.append((re.compile(str(entry["pattern"])), callee))
                except re.error as exc:
                    raise ScenarioError(f"bad pattern {entry['pattern']!r}: {exc}") from exc
            else:
                raise ScenarioError(f"callee needs 'number' or 'pattern': {entry!r}")
        return scenario

    @classmethod
    def load(cls, source: str | Path | dict[str, Any] | None = None) -> Scenario:
        """From a YAML/JSON file, an already-parsed mapping, or the shipped default."""
        if isinstance(source, dict):
            return cls.from_dict(source)
        if source is None:
            text = resources.files(__package__).joinpath("default_scenario.yaml").read_text()
            return cls.from_dict(yaml.safe_load(text))
        path = Path(source)
        text = path.read_text()
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
        return cls.from_dict(data, base_dir=path.parent)
