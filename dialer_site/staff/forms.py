from django import forms

from dialer_site.staff.models import StaffProfile


class ProfileForm(forms.ModelForm):
    class Meta:
        model = StaffProfile
        fields = ["time_zone"]
