"""Taking over a live call from its page: the staff member's own phone rings and, once they
answer, the caller is put through to them (a cold transfer by calls.transfers, at any hour:
agent hours are for the campaign's agents). Their number is remembered on their profile."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from calls import transfers
from calls.models import Call
from campaigns.phones import presence
from common.access import staff_required
from dialer_site.staff.forms import TakeOverForm
from dialer_site.staff.models import StaffProfile


@require_POST
@staff_required
def take_over(request, call_id: int):
    call = get_object_or_404(Call.objects.select_related("campaign"), pk=call_id)
    # A national number is read as the caller ID's country: the staff member's own, most likely.
    form = TakeOverForm(request.POST, country=presence(transfers.our_number(call))[0] or None)
    if not form.is_valid():
        messages.error(request, f"Not taken over: {form.errors['to_number'][0]}")
        return redirect("call-detail", call.pk)
    number, username = form.cleaned_data["to_number"], request.user.get_username()
    StaffProfile.objects.update_or_create(user=request.user, defaults={"phone": number})
    answer = transfers.request_transfer(call.pk, reason=f"taken over by {username}", summary="",
                                        requested_by=username, to_number=number)
    if answer.started:
        messages.success(request, f"Ringing {number}: answer it and the caller is put through to you.")
    else:
        messages.error(request, f"Not taken over: {transfers.Refusal(answer.refusal).label}.")
    return redirect("call-detail", call.pk)
