"""What Twilio posts to our webhooks, validated before anything is stored."""

from django import forms
from django.core.exceptions import ValidationError

from calls.models import Call

CALL_SID = r"^CA[0-9a-fA-F]{32}$"


class TwilioCallForm(forms.Form):
    CallSid = forms.RegexField(regex=CALL_SID)
    AccountSid = forms.CharField(max_length=34, required=False)
    From = forms.CharField(max_length=64, required=False)
    To = forms.CharField(max_length=64, required=False)


class StatusCallbackForm(TwilioCallForm):
    CallStatus = forms.ChoiceField(choices=Call.Status.choices)
    SequenceNumber = forms.IntegerField(min_value=0, required=False)
    CallDuration = forms.IntegerField(min_value=0, required=False)
    AnsweredBy = forms.CharField(max_length=32, required=False)
    Direction = forms.CharField(max_length=32, required=False)
    ErrorCode = forms.CharField(max_length=16, required=False)
    ErrorMessage = forms.CharField(max_length=500, required=False)
    SipResponseCode = forms.CharField(max_length=8, required=False)
    Timestamp = forms.CharField(max_length=64, required=False)


class AmdCallbackForm(TwilioCallForm):
    AnsweredBy = forms.ChoiceField(
        choices=[(v, v) for v in ["human", "machine_start", "machine_end_beep", "machine_end_silence",
                                  "machine_end_other", "fax", "unknown"]]
    )
    MachineDetectionDuration = forms.IntegerField(min_value=0, required=False)


def clean_twilio_post(form_class: type[forms.Form], data) -> tuple[dict, dict[str, list[str]]]:
    """form_class(data)'s cleaned data and errors, without building the form: Django deep-
    copies every field for each form instance (so that a view may change them), which was
    half the cost of validating a status callback, the busiest webhook. These fields never
    change and the forms have no clean methods, so each field's own clean() is the whole check."""
    cleaned, errors = {}, {}
    for name, field in form_class.base_fields.items():
        try:
            cleaned[name] = field.clean(field.widget.value_from_datadict(data, {}, name))
        except ValidationError as error:
            errors[name] = error.messages
    return cleaned, errors


class DialActionForm(TwilioCallForm):
    """<Dial>'s action request: the dialled leg's outcome."""

    CallStatus = forms.ChoiceField(choices=Call.Status.choices, required=False)
    DialCallStatus = forms.ChoiceField(
        choices=[(v, v) for v in ["completed", "answered", "busy", "no-answer", "failed", "canceled"]])
    DialCallSid = forms.RegexField(regex=CALL_SID, required=False)
    DialCallDuration = forms.IntegerField(min_value=0, required=False)


class ConferenceEventForm(forms.Form):
    """A <Conference>'s statusCallback: the conference started or ended, someone joined or left."""

    ConferenceSid = forms.CharField(max_length=34)
    FriendlyName = forms.CharField(max_length=128, required=False)
    StatusCallbackEvent = forms.CharField(max_length=32)
    CallSid = forms.RegexField(regex=CALL_SID, required=False)
