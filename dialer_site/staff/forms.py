from django import forms
from django.core.exceptions import ValidationError

from campaigns.phones import to_e164
from dialer_site.staff.models import StaffProfile


def staff_phone(raw: str, country: str | None = None) -> str:
    """A staff member's number as E.164, or a form error saying what is wrong with it."""
    try:
        return to_e164(raw, country)
    except ValidationError as error:
        raise forms.ValidationError(f"{error.messages[0]}.") from None


class ProfileForm(forms.ModelForm):
    class Meta:
        model = StaffProfile
        fields = ["time_zone", "phone"]

    def clean_phone(self):
        raw = self.cleaned_data["phone"].strip()
        return staff_phone(raw) if raw else ""


class TakeOverForm(forms.Form):
    """The number a live call is handed to when a staff member takes it over. A national
    number is read in the country of the number the call uses on our side."""

    to_number = forms.CharField(label="Ring me at", max_length=32)

    def __init__(self, *args, country: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.country = country

    def clean_to_number(self):
        return staff_phone(self.cleaned_data["to_number"], self.country)
