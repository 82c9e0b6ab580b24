from django.contrib import messages
from django.shortcuts import redirect, render

from common.access import staff_required
from dialer_site.staff.forms import ProfileForm
from dialer_site.staff.models import StaffProfile
from dialer_site.staff.time_zones import SESSION_KEY


@staff_required
def profile(request):
    mine, _ = StaffProfile.objects.get_or_create(user=request.user)
    form = ProfileForm(request.POST or None, instance=mine)
    if request.method == "POST" and form.is_valid():
        form.save()
        request.session[SESSION_KEY] = mine.time_zone
        messages.success(request, f"Times are now shown in {mine.time_zone or 'your browser’s time zone'}.")
        return redirect("staff-profile")
    return render(request, "staff/profile.html", {"form": form})
