"""The offline stacks' scripted dialogue: what a campaign's `script` JSON means.

Schema (every key optional; missing keys fall back to DEFAULT_SCRIPT):

    {
      "questions": ["Would you like to hear about our offer?"],
          # asked in order after the greeting and after a rule that does not end the call
      "rules": [
          {"keywords": ["remove me", "do not call"],   # phrases matched as whole words
           "examples": ["take me off your list"],      # what the rule means (botruntime.intents)
           "disposition": "do_not_call",               # one of BOT_DISPOSITIONS
           "reply": "I am sorry. I will remove you from our list.",
           "end": true,                                # say the goodbye and hang up
           "callback": false,                          # also schedule_callback(time said)
           "transfer": false,                          # then hand the call to a person (below)
           "followup": {"reply": "...", "end": true}}  # used when the rule matches again
      ],
      "fallback": "Sorry, I did not catch that.",      # no rule matched: say it, ask again
      "max_fallbacks": 2,                              # then say the goodbye and hang up
      "goodbye": "Thank you for your time. Goodbye.",
      "goodbye_keywords": ["goodbye", "bye"],        # the caller is leaving: goodbye, hang up
      "unrelated_examples": ["hello?", "hold on"],   # answers to no rule: ask again
      "idle_goodbye": "I have not heard from you, so I will let you go. Goodbye.",
      "trouble_goodbye": "…",                          # said when a voice service fails
      "answer_timeout_secs": 8,                        # cloud stack only: no answer this long, that goodbye
      "vocabulary": ["extra phrases the recogniser should know"],
      "keypad": {"1": "transfer", "9": "do_not_call"},  # a key pressed: one of KEYPAD_ACTIONS
      "transfer_reply": "Please hold.",                # said before transferring
      "agents_closed_reply": "…{{ agents_open }}…",    # outside agent hours: offer a callback
      "agent_unavailable_reply": "…",                  # no agent answered, the caller is back
      "briefing": "{{ first_name }} … {{ reason }} … {{ summary }}"  # said to the agent
    }

Rules are tried in order and the first keyword match wins, so put the narrow ones ("not
interested") before the broad ones ("interested"). Keywords are exact overrides: when none
is heard, the rule whose examples (and keywords) mean most nearly what the caller said wins,
if it is a clear winner (`botruntime.intents`); otherwise the fallback asks again. Replies
are Django templates rendered with the same context as the greeting (plus `can_transfer`:
the campaign has someone to hand callers to).

A step (a rule or its followup) with "transfer": true (and no "end") hands the caller to a
person: the bot says `transfer_reply` and the product redirects the call
(`CallStore.transfer_call`, reason: the rule's disposition or "asked for a person"). When
the campaign has nobody to transfer to, the step's reply is said, its callback booked and
the call ends, as a step with "end" would: a script keeps working without transfer targets.
Outside agent hours the bot says `agents_closed_reply` and, if the caller agrees, books the
callback for when agents are back. Keys the caller presses are heard as "[pressed 1]" and
do what `keypad` says.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from botruntime import exemplars
from botruntime.asr import normalize
from botruntime.intents import GOODBYE, Meaning
from botruntime.outcomes import Disposition
from botruntime.prompts import template_error

BOT_DISPOSITIONS = (
    Disposition.INTERESTED,
    Disposition.NOT_INTERESTED,
    Disposition.CALLBACK_REQUESTED,
    Disposition.WRONG_NUMBER,
    Disposition.DO_NOT_CALL,
)

KEYPAD_KEYS = "1234567890*#"
KEYPAD_ACTIONS = ("transfer", "do_not_call", "interested", "not_interested", "callback", "repeat")

DEFAULT_SCRIPT: dict = {
    "questions": ["Would you like to hear about our offer?"],
    "rules": [
        {
            "keywords": ["who is this", "who are you", "who is calling"],
            "examples": exemplars.WHO,
            "reply": "This is an automated assistant calling from {{ campaign_name }}.",
            "end": False,
        },
        {
            "keywords": ["do not call", "don't call", "remove me", "your list", "stop calling",
                         "call me again"],
            "examples": exemplars.DO_NOT_CALL,
            "disposition": "do_not_call",
            "reply": "I am sorry to have bothered you. I will remove your number from our list.",
            "end": True,
        },
        {
            "keywords": ["wrong number", "wrong person", "no one by that name"],
            "examples": exemplars.WRONG_NUMBER,
            "disposition": "wrong_number",
            "reply": "I am sorry, I must have the wrong number.",
            "end": True,
        },
        {
            "keywords": ["call me back", "call back", "busy", "later", "tomorrow", "not now"],
            "examples": exemplars.CALLBACK,
            "disposition": "callback_requested",
            "reply": "Of course. I will call you back then.",
            "end": True,
            "callback": True,
        },
        {
            # After the callback rule: "can a person call me back tomorrow" is a callback.
            "keywords": ["a person", "an agent", "a representative", "a human", "real person",
                         "speak to someone", "talk to someone", "an operator"],
            "examples": exemplars.TRANSFER,
            "disposition": "callback_requested",
            "reply": "I am sorry, no one can take your call right now. I will have someone call you back.",
            "callback": True,
            "transfer": True,
        },
        {
            # Not a bare "no": "no Dana here" and "no more calls" mean other rules.
            "keywords": ["not interested", "no thanks", "no thank you"],
            "examples": exemplars.NOT_INTERESTED,
            "disposition": "not_interested",
            "reply": "I understand. Thank you for letting me know.",
            "end": True,
        },
        {
            "keywords": ["interested", "tell me more", "sounds good", "yes", "sure"],
            "examples": exemplars.INTERESTED,
            "disposition": "interested",
            "reply": "Wonderful. We have a special offer for valued customers like you. "
            "{% if can_transfer %}Shall I connect you with a specialist to set it up?"
            "{% else %}Shall I have a specialist call you to set it up?{% endif %}",
            "end": False,
            # Without transfer targets the reply is said and the call ends, as before.
            "followup": {"reply": "Perfect. A specialist will be in touch soon.", "transfer": True},
        },
    ],
    "fallback": "Sorry, I did not catch that.",
    "goodbye_keywords": ["goodbye", "bye"],
    "unrelated_examples": exemplars.UNRELATED,
    "max_fallbacks": 2,
    "goodbye": "Thank you for your time. Goodbye.",
    "idle_goodbye": "I have not heard from you, so I will let you go. Goodbye.",
    "trouble_goodbye": "I am sorry, we are having technical trouble on our side. "
    "We will call you back another time. Goodbye.",
    "answer_timeout_secs": 8,
    "vocabulary": [],
    # 9 is the opt-out key automated calls commonly offer; 1 a person.
    "keypad": {"1": "transfer", "9": "do_not_call"},
    # Said before the call is handed over: once it is, the stream carries nothing more.
    "transfer_reply": "Please hold while I connect you with a specialist.",
    "agents_closed_reply": "I am sorry, our specialists are not available right now"
    "{% if agents_open %}; they are back {{ agents_open }}{% endif %}. "
    "Shall I have one of them call you back{% if agents_open %} then{% endif %}?",
    # callback_booked: the campaign books it without asking (end_call_with_callback).
    "agent_unavailable_reply": "I am sorry, none of our specialists could take your call just now. "
    "{% if callback_booked %}One of them will call you back.{% else %}"
    "Shall I have one of them call you back?{% endif %}",
    "briefing": "Hello, this is the automated assistant for {{ campaign_name|default:'our company' }}. "
    "{{ full_name|default:'A customer' }} is waiting to speak with you. "
    "Reason: {{ reason|default:'they asked for a person' }}. {{ summary }} "
    "I am connecting you now.",
}

# What the emulator's default callees say, and what people commonly answer: the recogniser
# only knows the words it is given.
COMMON_PHRASES = (
    "yes i am interested tell me more",
    "that sounds good yes please",
    "no thanks i am not interested",
    "i am busy right now please call me back tomorrow at ten",
    "please do not call me again remove me from your list",
    "hello who is this",
    "okay thank you goodbye",
    "yes",
    "no",
    "sure",
    "maybe",
    "not now",
    "call me later",
    "you have the wrong number",
    "stop calling me",
    "call me back on monday morning",
)


# The script's wording (top-level keys) as people name it, for errors.
TEXT_STEPS = {
    "fallback": "Fallback",
    "goodbye": "Goodbye",
    "idle_goodbye": "Goodbye when the caller is silent",
    "trouble_goodbye": "Goodbye when a voice service fails",
    "transfer_reply": "Said before a transfer",
    "agents_closed_reply": "Said outside agent hours",
    "agent_unavailable_reply": "Said when no agent answers",
    "briefing": "Briefing for the agent",
}
PHRASE_LISTS = {"goodbye_keywords": "Goodbye keywords", "vocabulary": "Vocabulary"}


def rule_name(index: int, rule: object) -> str:
    """'Rule 3 ("wrong number")': the step named as the editor shows it."""
    keywords = rule.get("keywords") if isinstance(rule, dict) else None
    first = keywords[0] if isinstance(keywords, list) and keywords and isinstance(keywords[0], str) else ""
    return f"Rule {index + 1}" + (f' ("{first}")' if first else "")


def _phrases_problem(value: object) -> str:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return "must be a list of phrases"
    return ""


def _rule_problems(name: str, rule: object) -> list[str]:
    if not isinstance(rule, dict):
        return [f"{name}: must be an object with keywords, a reply, …"]
    problems = []
    for key in ("keywords", "examples"):
        if key in rule and (problem := _phrases_problem(rule[key])):
            problems.append(f"{name}: {key} {problem}.")
    if not any(str(k).strip() for k in [*(rule.get("keywords") or []), *(rule.get("examples") or [])]):
        problems.append(f"{name}: give at least one keyword or example, or the rule can never match.")
    disposition = rule.get("disposition", "")
    if disposition and disposition not in BOT_DISPOSITIONS:
        choices = ", ".join(BOT_DISPOSITIONS)
        problems.append(f"{name}: unknown disposition {disposition!r} (one of {choices}).")
    if rule.get("callback") and disposition not in ("", Disposition.CALLBACK_REQUESTED):
        problems.append(f"{name}: a callback goes with the callback_requested disposition.")
    steps = [("reply", rule)]
    if "followup" in rule:
        if not isinstance(rule["followup"], dict):
            return [*problems, f"{name}: followup must be an object with a reply."]
        steps.append(("reply when matched again", rule["followup"]))
    for label, step in steps:
        if not isinstance(step.get("reply", ""), str):
            problems.append(f"{name}: {label} must be text.")
        elif error := template_error(step.get("reply", "")):
            problems.append(f"{name}: {label}: {error}")
        if not isinstance(step.get("transfer", False), bool):
            problems.append(f"{name}: transfer must be true or false.")
        elif step.get("transfer") and step.get("end"):
            problems.append(f"{name}: {label}: either transfer the call or hang up, not both.")
    return problems


def _keypad_problems(keypad: object) -> list[str]:
    if not isinstance(keypad, dict):
        return ['Keypad: must map keys to actions, e.g. {"1": "transfer"}.']
    problems = []
    for key, action in keypad.items():
        if len(key) != 1 or key not in KEYPAD_KEYS:
            problems.append(f"Keypad: {key!r} is not a key (one of 0-9, * and #).")
        elif action not in KEYPAD_ACTIONS:
            problems.append(f"Key {key}: unknown action {action!r} (one of {', '.join(KEYPAD_ACTIONS)}).")
    return problems


def script_problems(script: object) -> list[str]:
    """Everything wrong with a campaign's script, each naming its step ('Rule 2 ("busy"):
    …', "Question 3: …"); empty when the bot can follow it."""
    if not isinstance(script, dict):
        return ["The script must be a JSON object."]
    problems = []
    questions = script.get("questions", [])
    if not isinstance(questions, list):
        problems.append("Questions must be a list.")
        questions = []
    for index, question in enumerate(questions):
        if not isinstance(question, str) or not question.strip():
            problems.append(f"Question {index + 1}: write the question, or remove it.")
        elif error := template_error(question):
            problems.append(f"Question {index + 1}: {error}")
    rules = script.get("rules", [])
    if not isinstance(rules, list):
        problems.append("Rules must be a list.")
        rules = []
    for index, rule in enumerate(rules):
        problems += _rule_problems(rule_name(index, rule), rule)
    for key, name in TEXT_STEPS.items():
        if key not in script:
            continue
        if not isinstance(script[key], str) or not script[key].strip():
            problems.append(f"{name}: write what the bot says.")
        elif error := template_error(script[key]):
            problems.append(f"{name}: {error}")
    for key, name in PHRASE_LISTS.items():
        if key in script and (problem := _phrases_problem(script[key])):
            problems.append(f"{name}: {problem}.")
    if "keypad" in script:
        problems += _keypad_problems(script["keypad"])
    for key, name, least in (("max_fallbacks", "Fallbacks before goodbye", 0),
                             ("answer_timeout_secs", "Answer timeout", 1)):
        value = script.get(key, least)
        if isinstance(value, bool) or not isinstance(value, int | float) or value < least:
            problems.append(f"{name}: must be a number of at least {least}.")
    return problems


def merged_script(script: dict | None) -> dict:
    merged = {**DEFAULT_SCRIPT, **(script or {})}
    for rule in merged["rules"]:
        if rule.get("disposition") and rule["disposition"] not in BOT_DISPOSITIONS:
            raise ValueError(f"script rule has unknown disposition {rule['disposition']!r}")
    return merged


def vocabulary(script: dict) -> tuple[str, ...]:
    """Phrases for the recogniser's language model: the script's plus the common ones."""
    phrases = list(COMMON_PHRASES)
    phrases += script.get("vocabulary", [])
    for rule in script.get("rules", []):
        phrases += rule.get("keywords", [])
    phrases += NUMBER_WORDS.keys()
    phrases += ["on " + day for day in WEEKDAYS] + ["in the morning", "in the afternoon",
                                                   "in the evening", "today", "next week"]
    seen: dict[str, None] = {}
    for phrase in phrases:
        text = normalize(phrase)
        if text:
            seen.setdefault(text)
    return tuple(seen)


def _contains(text: str, keyword: str) -> bool:
    return re.search(rf"(?<![a-z0-9']){re.escape(normalize(keyword))}(?![a-z0-9'])", text) is not None


# Answers to "shall I have someone call you back?", matched as whole words.
YES_WORDS = ("yes", "yeah", "yep", "sure", "okay", "ok", "please", "sounds good", "that works",
             "fine", "alright", "all right", "of course", "go ahead", "why not")
NO_WORDS = ("no", "nope", "nah", "no thanks", "no thank you", "not interested", "don't bother",
            "never mind")
PERSON_REASON = "asked for a person"
TRANSFER_REASONS = {Disposition.INTERESTED: "interested in the offer"}
KEY_PRESSED = re.compile(r"^\[pressed ([0-9*#])\]$")


def pressed(digit: str) -> str:
    """How a key appears to the LLM and in the transcript."""
    return f"[pressed {digit}]"


def key_of(text: str) -> str | None:
    """The key in a caller message that is a key press ("[pressed 1]" -> "1")."""
    match = KEY_PRESSED.match(text.strip())
    return match.group(1) if match else None


@dataclass
class Action:
    """What the agent decided for one caller turn. With `transfer`, the rest is what to do
    if the caller cannot be handed to a person (the step as written)."""

    say: list[str] = field(default_factory=list)
    disposition: str = ""
    notes: str = ""
    callback_text: str = ""
    callback_at: datetime | None = None
    end: bool = False
    transfer: bool = False
    reason: str = ""


@dataclass
class ScriptedDialogue:
    """Pure dialogue state machine; `botruntime.agent.ScriptedAgent` wires it to Pipecat."""

    script: dict
    question_index: int = 0
    fallbacks: int = 0
    matched: set = field(default_factory=set)
    finished: bool = False
    # A callback was offered (agents closed, or the agent did not answer): a yes books it,
    # at `offered_at` if the offer named a time, else at the time the caller says.
    offering: bool = False
    offered_at: datetime | None = None
    offer_text: str = ""
    heard: list[str] = field(default_factory=list)
    last_said: list[str] = field(default_factory=list)

    def opening(self) -> list[str]:
        """Said right after the greeting."""
        self.last_said = self._next_question()
        return self.last_said

    def offer_callback(self, text: str, at: datetime | None = None) -> None:
        """The bot has just said `text`, offering a callback (at `at`)."""
        self.offering, self.offered_at, self.offer_text = True, at, text
        self.finished = False  # the step that tried the transfer meant to end the call
        self.last_said = [text]

    def summary(self) -> str:
        """One line for the agent taking the call: what the caller said last."""
        said = " / ".join(text for text in self.heard[-3:] if not key_of(text))
        return f'The caller said: "{said[-200:]}"' if said else ""

    def _next_question(self) -> list[str]:
        questions = self.script.get("questions") or []
        if self.question_index < len(questions):
            self.question_index += 1
            return [questions[self.question_index - 1]]
        return []

    def keyword_rule(self, heard: str) -> int | None:
        """The first rule a keyword of which was heard (GOODBYE for a goodbye keyword)."""
        text = normalize(heard)
        for index, rule in enumerate(self.script.get("rules", [])):
            if any(_contains(text, keyword) for keyword in rule.get("keywords", [])):
                return index
        if any(_contains(text, k) for k in self.script.get("goodbye_keywords", [])):
            return GOODBYE
        return None

    def respond(self, heard: str, meaning: Meaning | None = None) -> Action:
        """The reply to one caller turn: a keyword's rule, else the rule `meaning` is sure
        of (`botruntime.intents`), else the fallback, which asks again."""
        if self.finished:
            return Action()
        self.heard.append(heard.strip())
        rule = self.keyword_rule(heard)
        if rule is None and meaning is not None:
            rule = meaning.rule
        if self.offering:
            answer = self._answer_offer(heard, rule)
            if answer is not None:
                return self._said(answer)
        return self._said(self._respond(heard, rule))

    def _said(self, action: Action) -> Action:
        if action.say:
            self.last_said = list(action.say)
        return action

    def _answer_offer(self, heard: str, rule: int | None) -> Action | None:
        """A yes or no to the callback offered; None: something else (a do-not-call, a
        time of their own), answered by the rules."""
        disposition = self.script["rules"][rule].get("disposition", "") if rule not in (None, GOODBYE) else ""
        text = normalize(heard)
        if disposition in (Disposition.DO_NOT_CALL, Disposition.WRONG_NUMBER, Disposition.CALLBACK_REQUESTED):
            return None
        said_no = disposition == Disposition.NOT_INTERESTED or any(_contains(text, w) for w in NO_WORDS)
        said_yes = disposition == Disposition.INTERESTED or any(_contains(text, w) for w in YES_WORDS)
        if said_no or rule == GOODBYE:
            self.offering, self.finished = False, True
            return Action(say=[self.script["goodbye"]], end=True)
        if said_yes:
            self.offering, self.finished = False, True
            return Action(say=[self._callback_reply(), self.script["goodbye"]],
                          disposition=Disposition.CALLBACK_REQUESTED,
                          notes=f'Agreed to be called back: "{heard.strip()}"',
                          callback_text=heard, callback_at=self.offered_at, end=True)
        return None

    def _callback_reply(self) -> str:
        rule = self._rule_for(Disposition.CALLBACK_REQUESTED)
        return rule.get("reply") or "Of course. I will call you back then."

    def _rule_for(self, disposition: str) -> dict:
        """The script's first rule with this outcome (the default script's if it has none)."""
        for rules in (self.script.get("rules", []), DEFAULT_SCRIPT["rules"]):
            for rule in rules:
                if rule.get("disposition") == disposition and not rule.get("transfer"):
                    return rule
        return {}

    def press(self, digit: str) -> Action:
        """The caller pressed a key: what the script's keypad says it means."""
        if self.finished:
            return Action()
        action = (self.script.get("keypad") or {}).get(digit)
        heard = pressed(digit)
        self.heard.append(heard)
        if action == "repeat":
            return Action(say=list(self.last_said or [self.script["fallback"]]))
        if action == "transfer":
            rules = [*self.script.get("rules", []), *DEFAULT_SCRIPT["rules"]]
            index = next(i for i, rule in enumerate(rules) if rule.get("transfer") and rule.get("callback"))
            step = {**rules[index], "followup": None}
            return self._said(self._apply(f"key {digit}", step, heard,
                                          reason=f"pressed {digit} to talk to a person"))
        disposition = {"callback": Disposition.CALLBACK_REQUESTED}.get(action, action or "")
        rules = self.script.get("rules", [])
        index = next((i for i, rule in enumerate(rules)
                      if rule.get("disposition") == disposition and not rule.get("transfer")), None)
        if disposition and index is not None:
            return self._said(self._apply(index, rules[index], heard))
        if disposition in BOT_DISPOSITIONS:
            return self._said(self._apply(f"key {digit}", self._rule_for(disposition), heard))
        return Action()  # a key with no meaning here: the bot goes on

    def _respond(self, heard: str, rule: int | None) -> Action:
        if rule == GOODBYE:
            self.finished = True
            return Action(say=[self.script["goodbye"]], end=True)
        if rule is not None:
            return self._apply(rule, self.script["rules"][rule], heard)
        self.fallbacks += 1
        if self.fallbacks > int(self.script.get("max_fallbacks", 2)):
            self.finished = True
            return Action(say=[self.script["goodbye"]], end=True)
        if self.offering:
            return Action(say=[self.script["fallback"], self.offer_text])
        questions = self.script.get("questions") or []
        again = [questions[self.question_index - 1]] if self.question_index else []
        return Action(say=[self.script["fallback"], *(again or self._next_question())])

    def _apply(self, index: int | str, rule: dict, heard: str, reason: str = "") -> Action:
        step = rule
        if index in self.matched and rule.get("followup"):
            step = {**rule, **rule["followup"]}
        self.matched.add(index)
        disposition = rule.get("disposition", "")
        key = key_of(heard)
        action = Action(
            say=[step["reply"]] if step.get("reply") else [],
            disposition=disposition,
            notes=f"Caller pressed {key}." if key else f'Caller said: "{heard.strip()}"',
            callback_text=heard if rule.get("callback") else "",
            # A transfer ends the bot's part: handed over, or (no one to take the call) the
            # step's reply and the goodbye.
            end=bool(step.get("end") or step.get("transfer")),
            transfer=bool(step.get("transfer")),
        )
        if action.transfer:
            # A callback is what the step does when no one can take the call: not the reason.
            named = "" if rule.get("callback") else disposition
            action.reason = reason or TRANSFER_REASONS.get(named, named) or PERSON_REASON
        if action.end:
            self.finished = True
            action.say.append(self.script["goodbye"])
        else:
            action.say += self._next_question()
        return action


# -- callback times -------------------------------------------------------------------

NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "noon": 12,
}
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
DEFAULT_CALLBACK_HOUR = 10


def spoken_when(at: datetime, now: datetime) -> str:
    """`at` as said to a caller in `now`'s zone: "today at 2 PM", "tomorrow at 9:30 AM",
    "on Monday at 9 AM", "on June 12 at 9 AM"."""
    local = at.astimezone(now.tzinfo)
    minutes = f":{local.minute:02d}" if local.minute else ""
    clock = f"{local.hour % 12 or 12}{minutes} {'AM' if local.hour < 12 else 'PM'}"
    days = (local.date() - now.date()).days
    if days <= 0:
        day = "today"
    elif days == 1:
        day = "tomorrow"
    elif days < 7:
        day = f"on {WEEKDAYS[local.weekday()].capitalize()}"
    else:
        day = f"on {local:%B} {local.day}"
    return f"{day} at {clock}"


def parse_callback_time(text: str, now: datetime) -> datetime:
    """When the caller asked to be called back, in `now`'s timezone.

    Understands "tomorrow", "today", weekdays, "next week", "at ten", "at 3 pm", "in the
    morning/afternoon/evening", "later" (two hours). Anything it cannot read defaults to the
    next day at 10:00, a time most calling windows allow.
    """
    words = normalize(text).split()
    day = None
    if "tomorrow" in words:
        day = now.date() + timedelta(days=1)
    elif "today" in words:
        day = now.date()
    elif "next" in words and "week" in words:
        day = now.date() + timedelta(days=7 - now.weekday())
    else:
        for offset, name in enumerate(WEEKDAYS):
            if name in words:
                ahead = (offset - now.weekday()) % 7 or 7
                day = now.date() + timedelta(days=ahead)
                break

    hour = None
    for position, word in enumerate(words):
        if word == "at" and position + 1 < len(words):
            following = words[position + 1]
            hour = NUMBER_WORDS.get(following) or (int(following) if following.isdigit() else None)
            if hour is not None:
                break
    if hour is not None and hour > 24:
        hour = None
    pm = any(w in words for w in ("pm", "afternoon", "evening", "tonight"))
    if hour is None:
        if "morning" in words:
            hour = 10
        elif "afternoon" in words:
            hour = 15
        elif "evening" in words or "tonight" in words:
            hour = 18
    elif pm and hour < 12:
        hour += 12
    elif hour < 8:
        hour += 12  # "at three" on a sales call means the afternoon

    if day is None and hour is None:
        if "later" in words:
            return now + timedelta(hours=2)
        day = now.date() + timedelta(days=1)
    if day is None:
        day = now.date()
    when = now.replace(year=day.year, month=day.month, day=day.day, minute=0, second=0,
                       microsecond=0, hour=hour if hour is not None else DEFAULT_CALLBACK_HOUR)
    if when <= now:
        when += timedelta(days=1)
    return when
