"""Trying a campaign's bot before launch: "Call me" and "Talk in the browser" (calls.test_calls)."""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from calls import test_calls
from campaigns.models import Campaign, Lead
from campaigns.phones import to_e164
from common.access import staff_required

# The lead picker offers the campaign's first leads; any of its leads is accepted by id.
LEAD_CHOICES = 25


class TestCallForm(forms.Form):
    phone = forms.CharField(max_length=32)
    lead = forms.IntegerField(required=False, min_value=1)

    def __init__(self, campaign: Campaign, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.campaign = campaign

    def clean_phone(self) -> str:
        try:
            return to_e164(self.cleaned_data["phone"], "US")
        except ValidationError as error:
            raise ValidationError(error.messages[0]) from None

    def clean_lead(self) -> Lead | None:
        lead_id = self.cleaned_data["lead"]
        if lead_id is None:
            return None
        lead = test_calls.lead_of(self.campaign, str(lead_id))
        if lead is None:
            raise ValidationError("That lead is not in this campaign.")
        return lead


def lead_choices(campaign: Campaign):
    return campaign.leads.select_related("customer").order_by("pk")[:LEAD_CHOICES]


@require_POST
@staff_required
def call_me(request, campaign_id):
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    form = TestCallForm(campaign, request.POST)
    back = reverse("campaign-detail", args=[campaign.pk]) + "#try-bot"
    if not form.is_valid():
        for errors in form.errors.values():
            messages.error(request, f"Not called: {errors[0]}")
        return redirect(back)
    try:
        data = form.cleaned_data
        call = test_calls.call_me(campaign, data["phone"], data["lead"], request.user)
    except test_calls.Refused as refusal:
        messages.error(request, f"Not called: {refusal}")
        return redirect(back)
    if call.status == call.Status.FAILED:
        messages.error(request, f"The test call did not go out: {call.error_message}")
    else:
        messages.success(request, f"Test call to {call.to_number} placed: it counts in none of the "
                                  "campaign's figures.")
    return redirect("call-detail", call.pk)


@staff_required
def talk(request, campaign_id):
    """The browser's microphone on the campaign's bot (calls.talk_consumer does the talking)."""
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    lead = test_calls.lead_of(campaign, request.GET.get("lead", ""))
    ctx = {"campaign": campaign, "lead": lead, "leads": lead_choices(campaign)}
    return render(request, "campaigns/talk.html", ctx)
