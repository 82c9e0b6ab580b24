"""The script editor: a campaign's script (botruntime.script) as forms people fill in —
the greeting, questions, keyword rules and what each leads to, the goodbyes — and back.

`ScriptEditor` bundles one form and two formsets. `ScriptEditor.for_script` fills them from
a script (the saved one, or imported JSON); `script()` builds the script from what was
posted. Keys the editor has no field for (`idle_timeout_secs`, …) are kept as they were.
Every error names its step ("Rule 2", "Question 3"), as botruntime.script.script_problems does
for JSON."""

from __future__ import annotations

import json

from django import forms

from botruntime.outcomes import Disposition
from botruntime.prompts import template_error
from botruntime.script import BOT_DISPOSITIONS, KEYPAD_ACTIONS, KEYPAD_KEYS, merged_script, script_problems

THEN_NEXT, THEN_END, THEN_TRANSFER = "next", "end", "transfer"
THEN_CHOICES = [(THEN_NEXT, "Ask the next question"), (THEN_END, "Say the goodbye and hang up"),
                (THEN_TRANSFER, "Hand the call to a person")]
KEYPAD_LABELS = {
    "transfer": "Hand the call to a person", "do_not_call": "Do not call again", "interested": "Interested",
    "not_interested": "Not interested", "callback": "Call back later", "repeat": "Repeat the question",
}
assert set(KEYPAD_LABELS) == set(KEYPAD_ACTIONS)  # a new action needs its label here
DISPOSITION_CHOICES = [("", "No disposition (the call goes on)")] + [
    (value, Disposition(value).label) for value in BOT_DISPOSITIONS
]


def _phrases(text: str, separator: str) -> list[str]:
    return [part.strip() for part in text.split(separator) if part.strip()]


def _then(step: dict) -> str:
    return THEN_TRANSFER if step.get("transfer") else THEN_END if step.get("end") else THEN_NEXT


class TemplateField(forms.CharField):
    """Words the bot says: a Django template with the contact's fields."""

    def validate(self, value):
        super().validate(value)
        if error := template_error(value):
            raise forms.ValidationError(error[0].upper() + error[1:])


class ScriptForm(forms.Form):
    # The script's keys this form has no field for (`idle_timeout_secs`, …), carried through
    # the edit in a hidden field, so an imported script keeps them too.
    kept = forms.JSONField(required=False, widget=forms.HiddenInput)
    greeting = TemplateField(
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="What the bot says first, on every stack. {{ first_name }}, {{ campaign_name }} and "
        "the contact's other fields are filled in.",
    )
    fallback = TemplateField(help_text="Said when no rule matches; then the question is asked again.")
    max_fallbacks = forms.IntegerField(
        min_value=0, label="Fallbacks before goodbye",
        help_text="After this many unclear answers in a row the bot says the goodbye and hangs up.",
    )
    goodbye = TemplateField(widget=forms.Textarea(attrs={"rows": 2}))
    goodbye_keywords = forms.CharField(
        required=False, help_text="Comma-separated. The caller saying one ends the call with the goodbye.",
    )
    idle_goodbye = TemplateField(label="Goodbye when the caller is silent")
    trouble_goodbye = TemplateField(label="Goodbye when a voice service fails")
    answer_timeout_secs = forms.IntegerField(
        min_value=1, label="Answer timeout (seconds)",
        help_text="No answer from a voice service this long after the caller spoke: the trouble goodbye.",
    )
    vocabulary = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}),
        help_text="One phrase a line: extra words the speech recogniser should know.",
    )
    transfer_reply = TemplateField(
        label="Said before a transfer", help_text="Then the call rings the campaign's agents.",
    )
    agents_closed_reply = TemplateField(
        label="Said outside agent hours", widget=forms.Textarea(attrs={"rows": 2}),
        help_text="No transfer then: offer a callback. {{ agents_open }} says when the agents are back.",
    )
    agent_unavailable_reply = TemplateField(
        label="Said when no agent answers", widget=forms.Textarea(attrs={"rows": 2}),
        help_text="The caller is back with the bot: apologise and offer a callback.",
    )
    briefing = TemplateField(
        label="Briefing for the agent", widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Warm transfers: said to the agent before the caller joins. The contact's fields, "
        "{{ reason }} and {{ summary }} are filled in.",
    )

    def clean_kept(self):
        kept = self.cleaned_data["kept"] or {}
        if not isinstance(kept, dict):
            raise forms.ValidationError("The script's other settings were garbled: reload the page.")
        return {k: v for k, v in kept.items() if k not in EDITED_KEYS}


class QuestionForm(forms.Form):
    text = TemplateField(label="Question", required=False)


class RuleForm(forms.Form):
    # The rule's keys this form writes; any other key a rule has (written by hand, or by a
    # newer version) rides along in `kept`, a hidden field, and is saved back unchanged.
    OWNED_KEYS = frozenset({"keywords", "examples", "disposition", "reply", "end", "callback", "followup",
                            "transfer"})
    kept = forms.JSONField(required=False, widget=forms.HiddenInput)
    keywords = forms.CharField(
        required=False, help_text="Comma-separated phrases, matched as whole words; the first rule wins.",
    )
    examples = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}),
        help_text="One a line: what a caller might say that means the same (matched by meaning).",
    )
    disposition = forms.ChoiceField(choices=DISPOSITION_CHOICES, required=False)
    reply = TemplateField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    then = forms.ChoiceField(choices=THEN_CHOICES, label="Then")
    callback = forms.BooleanField(
        required=False, label="Schedule a callback at the time the caller says",
    )
    followup_reply = TemplateField(
        required=False, label="Reply when matched again", widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Leave empty to reply the same way every time.",
    )
    followup_then = forms.ChoiceField(choices=THEN_CHOICES, label="Then, when matched again")

    @classmethod
    def initial_for(cls, rule: dict) -> dict:
        followup = rule.get("followup") or {}
        return {
            "keywords": ", ".join(rule.get("keywords", [])),
            "examples": "\n".join(rule.get("examples", [])),
            "disposition": rule.get("disposition", ""),
            "reply": rule.get("reply", ""),
            "then": _then(rule),
            "callback": bool(rule.get("callback")),
            "followup_reply": followup.get("reply", ""),
            "followup_then": _then(followup),
        }

    def rule(self) -> dict:
        data = self.cleaned_data
        rule: dict = {"keywords": _phrases(data["keywords"], ",")}
        if examples := _phrases(data["examples"], "\n"):
            rule["examples"] = examples
        if data["disposition"]:
            rule["disposition"] = data["disposition"]
        rule["reply"] = data["reply"]
        rule["end"] = data["then"] == THEN_END
        if data["then"] == THEN_TRANSFER:
            rule["transfer"] = True
        if data["callback"]:
            rule["callback"] = True
        # Without a reply of its own a followup still matters when it transfers ("yes" twice:
        # offer, then put through); the rule's reply is said again (the dialogue merges them).
        if data["followup_reply"] or data["followup_then"] == THEN_TRANSFER:
            followup = {"reply": data["followup_reply"]} if data["followup_reply"] else {}
            followup["end"] = data["followup_then"] == THEN_END
            if data["followup_then"] == THEN_TRANSFER:
                followup["transfer"] = True
            rule["followup"] = followup
        return rule

    def is_blank(self) -> bool:
        data = self.cleaned_data
        return not (data.get("keywords") or data.get("examples") or data.get("reply"))

    def clean_kept(self):
        kept = self.cleaned_data["kept"] or {}
        if not isinstance(kept, dict):
            raise forms.ValidationError("The rule's other settings were garbled: reload the page.")
        return {k: v for k, v in kept.items() if k not in self.OWNED_KEYS}


def _rule_initial(rule: dict) -> dict:
    kept = {key: value for key, value in rule.items() if key not in RuleForm.OWNED_KEYS}
    return {**RuleForm.initial_for(rule), "kept": kept}


class KeypadForm(forms.Form):
    """What pressing each key does (the script's "keypad"): one choice per key."""

    FIELD_NAMES = {key: f"key_{ {'*': 'star', '#': 'hash'}.get(key, key)}" for key in KEYPAD_KEYS}
    CHOICES = [("", "Nothing")] + [(action, KEYPAD_LABELS[action]) for action in KEYPAD_ACTIONS]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, prefix="keypad", **kwargs)
        for key, name in self.FIELD_NAMES.items():
            self.fields[name] = forms.ChoiceField(label=f"Key {key}", choices=self.CHOICES, required=False)

    @classmethod
    def initial_for(cls, keypad: dict) -> dict:
        return {name: keypad.get(key, "") for key, name in cls.FIELD_NAMES.items()}

    def keypad(self) -> dict:
        chosen = {key: self.cleaned_data[name] for key, name in self.FIELD_NAMES.items()}
        return {key: action for key, action in chosen.items() if action}


QuestionFormSet = forms.formset_factory(QuestionForm, extra=1, can_delete=True)
RuleFormSet = forms.formset_factory(RuleForm, extra=1, can_delete=True)


TRANSFER_TEXTS = ("transfer_reply", "agents_closed_reply", "agent_unavailable_reply", "briefing")
EDITED_KEYS = frozenset({"questions", "rules", "keypad", *ScriptForm.base_fields})


class ScriptEditor:
    """The editor's forms for one script, and the script they make: filled from a script
    (`ScriptEditor(script=…, greeting=…)`) or from a POST (`ScriptEditor(request.POST)`)."""

    def __init__(self, data=None, script: dict | None = None, greeting: str = ""):
        # The script the unbound editor shows (an imported one is previewed before saving).
        self.initial_script = initial = merged_script(script) if data is None else None
        self.form = ScriptForm(data, initial=self._top_initial(initial, greeting) if initial else None)
        self.questions = QuestionFormSet(data, prefix="questions", initial=[
            {"text": question} for question in initial["questions"]] if initial else None)
        self.rules = RuleFormSet(data, prefix="rules", initial=[
            _rule_initial(rule) for rule in initial["rules"]] if initial else None)
        keypad = initial.get("keypad") if initial else None
        # An imported keypad that is not a mapping was refused by the import already.
        keypad = keypad if isinstance(keypad, dict) else {}
        self.keypad = KeypadForm(data, initial=KeypadForm.initial_for(keypad) if initial else None)
        self.problems: list[str] = []

    @staticmethod
    def _top_initial(script: dict, greeting: str) -> dict:
        initial = {name: script[name] for name in ScriptForm.base_fields if name in script}
        initial["greeting"] = greeting
        initial["goodbye_keywords"] = ", ".join(script["goodbye_keywords"])
        initial["vocabulary"] = "\n".join(script["vocabulary"])
        initial["kept"] = {k: v for k, v in script.items() if k not in EDITED_KEYS}
        return initial

    def is_valid(self) -> bool:
        valid = all([self.form.is_valid(), self.questions.is_valid(), self.rules.is_valid(),
                     self.keypad.is_valid()])
        self.problems = script_problems(self.script()) if valid else self._named_errors()
        return not self.problems

    def _named_errors(self) -> list[str]:
        """Each field error once more at the top of the page, naming its step."""
        named = [f"{form.fields[name].label or name.replace('_', ' ').capitalize()}: {error}"
                 for form in (self.form, self.keypad)
                 for name, errors in form.errors.items() for error in errors]
        for step, formset in (("Question", self.questions), ("Rule", self.rules)):
            for index, form in enumerate(formset.forms):
                for name, errors in form.errors.items():
                    field = (form.fields[name].label or name.replace("_", " ")).lower()
                    named += [f"{step} {index + 1}: {field}: {error}" for error in errors]
        return named

    def greeting(self) -> str:
        return self.form.cleaned_data["greeting"]

    def script(self) -> dict:
        data = self.form.cleaned_data
        questions = [f.cleaned_data for f in self.questions.forms if not f.cleaned_data.get("DELETE")]
        rules = [f for f in self.rules.forms if not f.cleaned_data.get("DELETE") and not f.is_blank()]
        return {
            **data["kept"],
            "questions": [question["text"] for question in questions if question.get("text")],
            "rules": [{**form.cleaned_data["kept"], **form.rule()} for form in rules],
            "fallback": data["fallback"],
            "max_fallbacks": data["max_fallbacks"],
            "goodbye": data["goodbye"],
            "goodbye_keywords": _phrases(data["goodbye_keywords"], ","),
            "idle_goodbye": data["idle_goodbye"],
            "trouble_goodbye": data["trouble_goodbye"],
            "answer_timeout_secs": data["answer_timeout_secs"],
            "vocabulary": _phrases(data["vocabulary"], "\n"),
            "keypad": self.keypad.keypad(),
            **{key: data[key] for key in TRANSFER_TEXTS},
        }


class ImportForm(forms.Form):
    """A script as JSON, pasted in: copied from another campaign's export."""

    script_json = forms.CharField(label="Script JSON",
                                  widget=forms.Textarea(attrs={"rows": 6, "class": "mono"}))

    def clean_script_json(self):
        try:
            script = json.loads(self.cleaned_data["script_json"])
        except json.JSONDecodeError as e:
            raise forms.ValidationError(f"Not valid JSON: {e.msg} (line {e.lineno}).") from None
        if problems := script_problems(script):
            raise forms.ValidationError(problems)
        return script
