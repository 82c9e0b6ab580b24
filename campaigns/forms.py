import json
import zoneinfo

from django import forms
from django.template import Engine, TemplateSyntaxError

from botruntime.script import script_problems
from campaigns.models import Campaign

TIMEZONE_CHOICES = [(tz, tz) for tz in sorted(zoneinfo.available_timezones()) if "/" in tz or tz == "UTC"]


class RetryDelaysField(forms.CharField):
    """Minutes before attempts 2, 3, … typed as "30, 120, 1440"."""

    def prepare_value(self, value):
        if isinstance(value, list):
            return ", ".join(str(v) for v in value)
        return value

    def to_python(self, value):
        text = (value or "").strip()
        if not text:
            return []
        try:
            delays = [int(part) for part in text.replace(";", ",").split(",") if part.strip()]
        except ValueError:
            raise forms.ValidationError("Enter whole numbers of minutes separated by commas.") from None
        if any(d < 1 for d in delays):
            raise forms.ValidationError("Each delay must be at least one minute.")
        return delays


class CampaignForm(forms.ModelForm):
    retry_delays_minutes = RetryDelaysField(
        label="Retry delays (minutes)", required=False,
        help_text="Minutes before attempts 2, 3, …; the last value repeats. E.g. 30, 120, 1440.",
    )
    script = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 6, "class": "mono"}),
        help_text="The offline stacks' scripted dialogue as JSON (questions and rules).",
    )
    default_timezone = forms.ChoiceField(
        choices=TIMEZONE_CHOICES, initial="America/New_York",
        help_text="Used for contacts whose own time zone is unknown.",
    )

    # Old names a saved form or script may still post: "local" was the lite stack's name
    # until the natural stack came beside it.
    OLD_VOICE_STACKS = {"local": Campaign.VoiceStack.LITE}

    class Meta:
        model = Campaign
        fields = [
            "name", "slug", "caller_id", "voice_stack", "greeting_template", "system_prompt_template",
            "script", "voicemail_message", "answering_machine_detection",
            "starts_at", "ends_at", "window_start", "window_end", "default_timezone",
            "max_concurrent_calls", "max_attempts", "retry_delays_minutes", "ring_timeout_seconds",
        ]
        widgets = {
            "greeting_template": forms.Textarea(attrs={"rows": 3}),
            "system_prompt_template": forms.Textarea(attrs={"rows": 6}),
            "voicemail_message": forms.Textarea(attrs={"rows": 3}),
            "starts_at": forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
            "ends_at": forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
            "window_start": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            "window_end": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        }
        labels = {"answering_machine_detection": "Answering machine detection (AMD)"}
        help_texts = {
            "greeting_template": "What the bot says first. Django template syntax: "
            "{{ first_name }}, {{ campaign_name }} and the contact's other fields.",
            "window_start": "Calls only start between these times in the contact's own time zone.",
            "max_concurrent_calls": "Calls in progress at once, at most.",
            "ring_timeout_seconds": "Give up on an unanswered call after this many seconds.",
            "answering_machine_detection": "Detect voicemail and leave the voicemail message "
            "after the beep instead of talking to the machine.",
        }

    def __init__(self, data=None, *args, **kwargs):
        if data is not None and data.get("voice_stack") in self.OLD_VOICE_STACKS:
            data = data.copy()
            data["voice_stack"] = self.OLD_VOICE_STACKS[data["voice_stack"]]
        super().__init__(data, *args, **kwargs)
        script = self.instance.script
        if self.instance.pk and isinstance(script, dict | list):
            self.initial["script"] = json.dumps(script, indent=2) if script else ""

    def clean_script(self):
        text = self.cleaned_data["script"].strip()
        if not text:
            return {}
        try:
            script = json.loads(text)
        except json.JSONDecodeError as e:
            raise forms.ValidationError(f"Not valid JSON: {e.msg} (line {e.lineno}).") from None
        if problems := script_problems(script):
            raise forms.ValidationError(problems)
        return script

    def clean_retry_delays_minutes(self):
        return self.cleaned_data["retry_delays_minutes"] or [30]

    def _check_template(self, field):
        text = self.cleaned_data.get(field, "")
        try:
            Engine().from_string(text)
        except TemplateSyntaxError as e:
            raise forms.ValidationError(f"Template error: {e}") from None
        return text

    def clean_greeting_template(self):
        return self._check_template("greeting_template")

    def clean_system_prompt_template(self):
        return self._check_template("system_prompt_template")

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("window_start") and cleaned.get("window_start") == cleaned.get("window_end"):
            self.add_error("window_end", "The calling window must not start and end at the same time.")
        starts, ends = cleaned.get("starts_at"), cleaned.get("ends_at")
        if starts and ends and ends <= starts:
            self.add_error("ends_at", "The campaign must end after it starts.")
        return cleaned


class CampaignSettingsForm(CampaignForm):
    """The campaign form of the dashboard: the bot's words (greeting and script) have their
    own page, the script editor (campaigns.script_forms); the API takes them here."""

    class Meta(CampaignForm.Meta):
        fields = [name for name in CampaignForm.Meta.fields if name not in ("greeting_template", "script")]


class ReasonForm(forms.Form):
    """The optional reason staff give when pausing a campaign or blocking a number."""

    reason = forms.CharField(max_length=200, required=False)
