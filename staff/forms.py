from django import forms

from staff.models import StaffProfile


class ProfileForm(forms.ModelForm):
    class Meta:
        model = StaffProfile
        fields = ["time_zone"]
