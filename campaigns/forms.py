import json
import re
import zoneinfo
from datetime import date, time

from django import forms
from django.core.exceptions import ValidationError
from django.template import Engine, TemplateSyntaxError

from botruntime.script import script_problems
from campaigns.calling_window import WEEKDAYS
from campaigns.models import Campaign
from campaigns.phones import to_e164

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


_DAY_HOURS = re.compile(r"^(?P<day>[a-z]{3})[a-z]*\s+"
                        r"(?:(?P<closed>closed)|(?P<start>\d{1,2}:\d{2})\s*[-–]\s*(?P<end>\d{1,2}:\d{2}))$")


def _wall_clock(text: str) -> str:
    hours, minutes = (int(part) for part in text.split(":"))
    return time(hours, minutes).strftime("%H:%M")  # ValueError past 23:59


class WeekdayHoursField(forms.CharField):
    """Calling hours for some weekdays, a line each: "Sat 10:00-14:00", "Sun closed". Also
    takes the stored form as JSON ({"sat": ["10:00", "14:00"], "sun": []}), as the API sends it."""

    widget = forms.Textarea(attrs={"rows": 3})

    def prepare_value(self, value):
        if isinstance(value, dict):
            days = sorted(value.items(), key=lambda item: WEEKDAYS.index(item[0]))
            return "\n".join(f"{day.title()} {'-'.join(hours) if hours else 'closed'}" for day, hours in days)
        return value

    def to_python(self, value):
        text = (value or "").strip()
        if text.startswith("{"):
            try:
                stored = json.loads(text)
            except json.JSONDecodeError:
                raise forms.ValidationError("Not valid JSON.") from None
            text = self.prepare_value(stored) if isinstance(stored, dict) and all(
                day in WEEKDAYS and isinstance(hours, list) for day, hours in stored.items()) else "?"
        hours = {}
        for line in filter(None, (line.strip().lower() for line in re.split(r"[\n;]", text))):
            match = _DAY_HOURS.match(line)
            if not match or match["day"] not in WEEKDAYS:
                raise forms.ValidationError(
                    f"“{line}” is not a weekday and its hours: write e.g. “Sat 10:00-14:00” or “Sun closed”.")
            if match["closed"]:
                hours[match["day"]] = []
                continue
            try:
                start, end = _wall_clock(match["start"]), _wall_clock(match["end"])
            except ValueError:
                raise forms.ValidationError(f"“{line}”: a time is not a time of day.") from None
            if start >= end:
                raise forms.ValidationError(f"“{line}”: the hours must end after they start.")
            hours[match["day"]] = [start, end]
        return hours


class SkipDatesField(forms.CharField):
    """Dates never called, typed as "2026-12-25, 2027-01-01" (commas or new lines)."""

    widget = forms.Textarea(attrs={"rows": 2})

    def prepare_value(self, value):
        return ", ".join(value) if isinstance(value, list) else value

    def to_python(self, value):
        days = set()
        for part in filter(None, (p.strip() for p in re.split(r"[,\n;]", value or ""))):
            try:
                days.add(date.fromisoformat(part).isoformat())
            except ValueError:
                raise forms.ValidationError(f"“{part}” is not a date: write it as YYYY-MM-DD.") from None
        return sorted(days)


class TransferTargetsField(forms.CharField):
    """Agents' numbers, a line each (or separated by commas), stored as E.164; an error names
    the entry that is wrong. Also takes the stored form, a JSON list, as the API sends it."""

    widget = forms.Textarea(attrs={"rows": 3})

    def prepare_value(self, value):
        return "\n".join(value) if isinstance(value, list) else value

    def to_python(self, value):
        text = (value or "").strip()
        if text.startswith("["):
            try:
                entries = [str(entry) for entry in json.loads(text)]
            except (json.JSONDecodeError, TypeError):
                raise forms.ValidationError("Not a valid JSON list of numbers.") from None
        else:
            entries = [part.strip() for part in re.split(r"[,\n;]", text)]
        targets = []
        for position, entry in enumerate(filter(None, entries), start=1):
            try:
                number = to_e164(entry)
            except ValidationError as error:
                raise forms.ValidationError(f"Target {position}: {error.messages[0]}.") from None
            if number not in targets:
                targets.append(number)
        return targets


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
    weekday_hours = WeekdayHoursField(
        label="Hours by weekday", required=False,
        help_text="Days whose hours differ from the daily window, a line each: “Sat 10:00-14:00”, "
        "“Sun closed”. Never before 08:00 or after 21:00, whatever is written here.",
    )
    skip_dates = SkipDatesField(
        label="Dates not to call", required=False,
        help_text="Holidays, in each contact's own calendar: 2026-12-25, 2027-01-01.",
    )

    transfer_targets = TransferTargetsField(
        label="Transfer to", required=False,
        help_text="The agents' numbers, a line each, with the country code: +12025550123. Empty: "
        "the bot never hands a call over and offers a callback instead.",
    )
    agent_timezone = forms.ChoiceField(
        label="Agents' time zone", required=False, choices=[("", "The campaign's default time zone"),
                                                            *TIMEZONE_CHOICES],
    )
    agent_hours = WeekdayHoursField(
        label="Agent hours", required=False,
        help_text="When agents take calls, a line per weekday in their time zone: “Mon 09:00-17:00”. "
        "Empty: at any time; otherwise a day not written has no agents. Outside these hours the bot "
        "offers a callback instead of handing over.",
    )

    # Left empty (or not posted, by a form older than them), these take the campaign's default.
    DEFAULTED = ["breaker_threshold_percent", "breaker_window_seconds", "breaker_min_calls",
                 "transfer_order", "transfer_mode", "agent_ring_timeout_secs", "transfer_unanswered"]

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
            "weekday_hours", "skip_dates", "max_attempts_per_day", "ai_disclosure", "recording_notice",
            "breaker_enabled", "breaker_threshold_percent", "breaker_window_seconds", "breaker_min_calls",
            "caller_id_daily_cap",
            "transfer_targets", "transfer_order", "transfer_mode", "agent_timezone", "agent_hours",
            "agent_ring_timeout_secs", "transfer_unanswered",
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
            "ai_disclosure": "Said first on every call, before the greeting (US rules treat AI voices as "
            "artificial voices). Blank: not said.",
            "recording_notice": "Said first on every call, after the AI disclosure. Blank: not said.",
            "breaker_enabled": "Pause the campaign by itself when too many recent calls fail (Twilio errors, "
            "failed calls, calls whose audio never connected, bot errors).",
            "breaker_threshold_percent": "Pause when at least this share of the judged calls failed.",
            "breaker_window_seconds": "Judge the calls placed in this many seconds before the latest.",
            "breaker_min_calls": "Judge only once at least this many calls in the window have ended.",
            "transfer_order": "Whom an agent hand-off rings first; whoever does not answer passes it on "
            "to the next target, until every target was tried.",
            "transfer_mode": "Cold: the caller hears ringing and then the agent. Warm: the caller holds "
            "(music) while the bot tells the agent who is waiting and why, then they are joined.",
            "agent_ring_timeout_secs": "Ring each agent this long (5 to 120 seconds) before the next.",
            "transfer_unanswered": "When no agent answered, the caller is back with the bot either way.",
        }

    def __init__(self, data=None, *args, **kwargs):
        if data is not None and data.get("voice_stack") in self.OLD_VOICE_STACKS:
            data = data.copy()
            data["voice_stack"] = self.OLD_VOICE_STACKS[data["voice_stack"]]
        super().__init__(data, *args, **kwargs)
        for name in self.DEFAULTED:
            self.fields[name].required = False
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
        for name in self.DEFAULTED:
            if cleaned.get(name) in (None, "") and name not in self.errors:
                cleaned[name] = Campaign._meta.get_field(name).default
        return cleaned


class CampaignSettingsForm(CampaignForm):
    """The campaign form of the dashboard: the bot's words (greeting and script) have their
    own page, the script editor (campaigns.script_forms); the API takes them here. The
    caller-ID pool is picked from the account's numbers, which the view fetches from Twilio."""

    caller_id_pool = forms.MultipleChoiceField(
        label="Caller-ID pool", required=False, widget=forms.CheckboxSelectMultiple,
        help_text="Calls come from these numbers, each from one with the callee's area code if "
        "there is one, else one in their country, the least recently used first. Empty: every call "
        "comes from the caller ID above.",
    )

    class Meta(CampaignForm.Meta):
        fields = [name for name in CampaignForm.Meta.fields if name not in ("greeting_template", "script")]

    def __init__(self, data=None, *args, account_numbers: list[dict] = (), **kwargs):
        super().__init__(data, *args, **kwargs)
        pool = list(self.instance.caller_numbers.values("phone_number", "friendly_name", "twilio_sid")
                    ) if self.instance.pk else []
        # The pool's own numbers stay listed when Twilio's list could not be fetched.
        self.numbers = {n["phone_number"]: n for n in [
            {"phone_number": p["phone_number"], "friendly_name": p["friendly_name"], "sid": p["twilio_sid"]}
            for p in pool] + list(account_numbers)}
        self.fields["caller_id_pool"].choices = [
            (number, f"{number} {n['friendly_name']}".strip()) for number, n in self.numbers.items()]
        self.initial.setdefault("caller_id_pool", [p["phone_number"] for p in pool])

    def pool(self) -> list[dict]:
        """The chosen account numbers, for campaigns.caller_ids.set_pool."""
        return [self.numbers[number] for number in self.cleaned_data["caller_id_pool"]]


class ReasonForm(forms.Form):
    """The optional reason staff give when pausing a campaign or blocking a number."""

    reason = forms.CharField(max_length=200, required=False)
