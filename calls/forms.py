"""What Twilio posts to our webhooks, validated before anything is stored."""

from django import forms

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
