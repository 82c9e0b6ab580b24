"""The emulated LLM: a deterministic policy over the system prompt, the tools offered and
the conversation, by rules from a YAML file (default_rules.yaml explains the format)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

DEFAULT_RULES = Path(__file__).with_name("default_rules.yaml")


@dataclass
class ToolCall:
    name: str
    arguments: dict


@dataclass
class Answer:
    text: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)


def _words(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9']+", text.lower().replace("\u2019", "'")))


def _contains(text: str, phrase: str) -> bool:
    return re.search(rf"(?<![a-z0-9']){re.escape(_words(phrase))}(?![a-z0-9'])", text) is not None


def _content(message: dict) -> str:
    content = message.get("content") or ""
    if isinstance(content, list):  # content parts: keep the text ones
        return " ".join(part.get("text", "") for part in content if isinstance(part, dict))
    return str(content)


class _Template(dict):
    def __missing__(self, key: str) -> str:
        return ""


class Policy:
    def __init__(self, rules: dict) -> None:
        self.rules = rules.get("rules", [])
        self.facts = rules.get("facts", {})
        self.fallback = rules.get("fallback", "")
        self.summary = rules.get("summary", {})
        for rule in self.rules:
            if not rule.get("heard") or not rule.get("steps"):
                raise ValueError(f"a rule needs `heard` and `steps`: {rule}")

    @classmethod
    def load(cls, path: Path | None = None) -> Policy:
        return cls(yaml.safe_load((path or DEFAULT_RULES).read_text()) or {})

    def answer(self, messages: list[dict], tools: list[dict]) -> Answer:
        system = "\n".join(_content(m) for m in messages if m.get("role") in ("system", "developer"))
        offered = {t["function"]["name"]: t["function"] for t in tools if t.get("type") == "function"}
        conversation = "\n".join(_content(m) for m in messages)
        values = _Template({
            name: self._fact(spec, conversation if spec.get("from") == "conversation" else system)
            for name, spec in self.facts.items()})
        users = [i for i, m in enumerate(messages) if m.get("role") == "user"]
        if not users:
            return Answer()
        last_user = users[-1]
        # What the assistant said and its tools answered since the caller's previous message.
        since = messages[(users[-2] + 1 if len(users) > 1 else 0):last_user]
        before = _words(" ".join(_content(m) for m in since if m.get("role") in ("assistant", "tool")))
        heard = _content(messages[last_user])
        values["heard"] = " ".join(heard.split())
        if not offered and self.summary and _words(self.summary.get("system", "")) in _words(system):
            values["request"] = "; ".join(line.strip() for line in heard.splitlines() if line.strip())
            return Answer(text=self.summary.get("say", "{request}").format_map(values))

        rule = self._rule(_words(heard), _words(system), before)
        step_index = _steps_done(messages[last_user + 1:])
        if rule is None:
            return Answer(text=self.fallback.format_map(values) if step_index == 0 else "")
        if step_index >= len(rule["steps"]):
            return Answer()
        step = rule["steps"][step_index]
        calls = []
        for entry in step.get("call", []):
            for name, arguments in entry.items():
                filled = {k: v.format_map(values) if isinstance(v, str) else v
                          for k, v in (arguments or {}).items()}
                if name in offered and _fits(filled, offered[name].get("parameters") or {}):
                    calls.append(ToolCall(name, filled))
        return Answer(text=step.get("say", "").format_map(values), tool_calls=calls)

    def _rule(self, heard: str, system: str, before: str) -> dict | None:
        for rule in self.rules:
            if not all(_words(phrase) in system for phrase in rule.get("system", [])):
                continue
            if not all(_words(phrase) in before for phrase in rule.get("after", [])):
                continue
            if any(_contains(heard, phrase) for phrase in rule["heard"]):
                return rule
        return None

    @staticmethod
    def _fact(spec: dict, system: str) -> str:
        match = re.search(spec["pattern"], system)
        return match.group(1).strip() if match else spec.get("default", "")


def _steps_done(after_user: list[dict]) -> int:
    """How many of the rule's steps were answered already: each step that called tools
    is followed by its results (a run of `tool` messages)."""
    runs, in_run = 0, False
    for message in after_user:
        is_tool = message.get("role") == "tool"
        if is_tool and not in_run:
            runs += 1
        in_run = is_tool
    return runs


def _fits(arguments: dict, schema: dict) -> bool:
    """The arguments against the tool's JSON schema: required keys, known keys, enums."""
    properties = schema.get("properties", {})
    if any(key not in arguments for key in schema.get("required", [])):
        return False
    for key, value in arguments.items():
        if properties and key not in properties:
            return False
        allowed = properties.get(key, {}).get("enum")
        if allowed and value not in allowed:
            return False
    return True


def arguments_json(call: ToolCall) -> str:
    return json.dumps(call.arguments)
