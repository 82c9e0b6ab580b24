"""Campaigns (create, update, start/pause/resume/cancel, stats) and their leads (bulk add,
read, remove). Campaign fields are checked by the dashboard's own CampaignForm, moves by
campaigns.lifecycle, leads by the contact import's row checks: one set of rules."""

import json

from django.db import transaction
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import generics, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from calls.api.calls import CursorPage
from calls.api.problems import Conflict
from calls.models import Call
from campaigns import lifecycle
from campaigns import stats as lead_stats
from campaigns.forms import CampaignForm
from campaigns.imports.leads import add_leads
from campaigns.imports.rows import MAX_PARAMETER_CHARS
from campaigns.models import Campaign, ContactImport, Lead

MAX_LEADS_PER_REQUEST = 10_000


def _form_value(value):
    if isinstance(value, dict):
        return json.dumps(value)  # the form's script field takes JSON text
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)  # and retry delays as "30, 120"
    return "" if value is None else value


@extend_schema_field(
    {"type": "string", "example": "09:00", "description": "HH:MM, in each contact's own zone."}
)
class WallClockField(serializers.TimeField):
    def __init__(self, **kwargs):
        super().__init__(format="%H:%M", **kwargs)


class CampaignSerializer(serializers.ModelSerializer):
    window_start = WallClockField(required=False)
    window_end = WallClockField(required=False)

    class Meta:
        model = Campaign
        fields = ["id", *CampaignForm.Meta.fields, "status", "status_reason", "created_at", "updated_at"]
        read_only_fields = ["status", "status_reason", "created_at", "updated_at"]

    def validate(self, attrs):
        """The dashboard form's checks (templates, window, dates, zones), on the campaign
        as it would be with these changes."""
        base = self.instance or Campaign()
        data = {name: _form_value(attrs.get(name, getattr(base, name))) for name in CampaignForm.Meta.fields}
        form = CampaignForm(data, instance=Campaign(pk=base.pk))
        if not form.is_valid():
            raise serializers.ValidationError(
                {
                    "non_field_errors" if name == "__all__" else name: list(errors)
                    for name, errors in form.errors.items()
                }
            )
        return {name: form.cleaned_data[name] for name in CampaignForm.Meta.fields}


class CampaignList(generics.ListCreateAPIView):
    serializer_class = CampaignSerializer
    pagination_class = CursorPage
    queryset = Campaign.objects.all()

    def perform_create(self, serializer):
        lifecycle.created(serializer.save(), by=lifecycle.By.API)


class CampaignDetail(generics.RetrieveUpdateAPIView):
    serializer_class = CampaignSerializer
    queryset = Campaign.objects.all()
    lookup_url_kwarg = "campaign_id"


class PauseSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500)


def _transition(move):
    class Transition(APIView):
        @extend_schema(
            request=PauseSerializer if move is lifecycle.pause else None,
            responses={200: CampaignSerializer},
            operation_id=f"campaign_{move.__name__}",
        )
        def post(self, request, campaign_id: int):
            campaign = get_object_or_404(Campaign, pk=campaign_id)
            arguments = []
            if move is lifecycle.pause:
                given = PauseSerializer(data=request.data)
                given.is_valid(raise_exception=True)
                arguments = [given.validated_data.get("reason", "")]
            try:
                move(campaign, *arguments, by=lifecycle.By.API)
            except lifecycle.TransitionError as error:
                raise Conflict(str(error)) from None
            return Response(CampaignSerializer(campaign).data)

    Transition.__name__ = Transition.__qualname__ = f"Campaign{move.__name__.title()}"
    Transition.__doc__ = f"{move.__name__.title()} the campaign: {move.__doc__ or 'a lifecycle move.'}"
    return Transition.as_view()


start, pause, resume, cancel = (
    _transition(move) for move in (lifecycle.start, lifecycle.pause, lifecycle.resume, lifecycle.cancel)
)


class StatsSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    status_reason = serializers.CharField()
    lead_total = serializers.IntegerField()
    lead_done = serializers.IntegerField(help_text="Leads that will not be called again.")
    percent_done = serializers.IntegerField()
    live_calls = serializers.IntegerField()
    leads_by_state = serializers.DictField(child=serializers.IntegerField())
    leads_by_outcome = serializers.DictField(child=serializers.IntegerField())
    calls_answered = serializers.IntegerField(help_text="Calls a person (not a machine) answered.")
    calls_handed_off = serializers.IntegerField(help_text="Answered calls handed to a person.")
    calls_transferred = serializers.IntegerField(help_text="Calls an agent took.")
    transfer_rate = serializers.IntegerField(
        allow_null=True, help_text="calls_handed_off in % of calls_answered; null before any answer.")
    agents_rung = serializers.IntegerField(help_text="Transfer attempts decided: each agent rung once.")
    agents_answered = serializers.IntegerField()
    agent_answer_rate = serializers.IntegerField(
        allow_null=True, help_text="agents_answered in % of agents_rung; null before any was rung.")


class CampaignStats(APIView):
    @extend_schema(responses=StatsSerializer)
    def get(self, request, campaign_id: int):
        """Leads by state and by last outcome (the dashboard's figures, campaigns.stats), and
        the calls live now."""
        campaign = get_object_or_404(Campaign, pk=campaign_id)
        leads = lead_stats.lead_breakdowns([campaign.pk])[campaign.pk]
        transfers = lead_stats.transfer_figures(campaign)
        return Response(
            StatsSerializer(
                {
                    "id": campaign.pk,
                    "status": campaign.status,
                    "status_reason": campaign.status_reason,
                    "lead_total": leads["total"],
                    "lead_done": leads["done"],
                    "percent_done": leads["percent_done"],
                    "live_calls": Call.objects.counted().live().filter(campaign=campaign).count(),
                    "leads_by_state": leads["by_state"],
                    "leads_by_outcome": leads["by_outcome"],
                    "calls_answered": transfers["answered"],
                    "calls_handed_off": transfers["handed_off"],
                    "calls_transferred": transfers["transferred"],
                    "transfer_rate": transfers["transfer_rate"],
                    "agents_rung": transfers["agents_rung"],
                    "agents_answered": transfers["agents_answered"],
                    "agent_answer_rate": transfers["agent_answer_rate"],
                }
            ).data
        )


# --- Leads --------------------------------------------------------------------------


class LeadSerializer(serializers.ModelSerializer):
    phone = serializers.CharField(source="customer.phone")
    first_name = serializers.CharField(source="customer.first_name")
    last_name = serializers.CharField(source="customer.last_name")
    email = serializers.CharField(source="customer.email")
    variables = serializers.DictField(source="parameters", child=serializers.CharField())

    class Meta:
        model = Lead
        fields = [
            "id",
            "campaign_id",
            "phone",
            "first_name",
            "last_name",
            "email",
            "variables",
            "state",
            "attempts",
            "last_outcome",
            "notes",
            "callback_at",
            "next_attempt_at",
            "created_at",
        ]


class VariableValue(serializers.CharField):
    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, str | int | float):
            raise serializers.ValidationError("A variable's value must be text or a number.")
        return super().to_internal_value(str(data))


class NewLeadSerializer(serializers.Serializer):
    # Lengths and formats are the import's checks (in add_leads); these only bound the JSON.
    phone = serializers.CharField(max_length=64, allow_blank=True)
    first_name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    last_name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    email = serializers.CharField(max_length=254, required=False, allow_blank=True)
    timezone = serializers.CharField(max_length=64, required=False, allow_blank=True)
    variables = serializers.DictField(
        child=VariableValue(max_length=MAX_PARAMETER_CHARS, allow_blank=True), required=False
    )


class AddLeadsSerializer(serializers.Serializer):
    leads = NewLeadSerializer(many=True, max_length=MAX_LEADS_PER_REQUEST, allow_empty=False)
    existing = serializers.ChoiceField(
        ContactImport.Existing.choices,
        default=ContactImport.Existing.UPDATE,
        help_text="For numbers already known: update them, or keep them as they are.",
    )
    country = serializers.CharField(
        max_length=2, default="US", help_text="For numbers without a country code."
    )


class RejectedLeadSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="Its position in `leads`, from 0.")
    phone = serializers.CharField()
    reason = serializers.CharField()


class LeadsReportSerializer(serializers.Serializer):
    added = serializers.IntegerField()
    updated = serializers.IntegerField()
    kept = serializers.IntegerField()
    rejected = RejectedLeadSerializer(many=True)


class CampaignLeads(generics.ListAPIView):
    """GET: the campaign's leads, in the order they were added. POST: add up to 10,000."""

    serializer_class = LeadSerializer
    pagination_class = type("LeadPage", (CursorPage,), {"ordering": "id"})

    def get_queryset(self):
        campaign = get_object_or_404(Campaign, pk=self.kwargs["campaign_id"])
        return campaign.leads.select_related("customer")

    @extend_schema(request=AddLeadsSerializer, responses={200: LeadsReportSerializer})
    def post(self, request, campaign_id: int):
        campaign = get_object_or_404(Campaign, pk=campaign_id)
        given = AddLeadsSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        report = add_leads(
            campaign, data["leads"], existing=data["existing"], default_country=data["country"].upper()
        )
        return Response(LeadsReportSerializer(report).data)


class LeadDetail(generics.RetrieveDestroyAPIView):
    serializer_class = LeadSerializer
    queryset = Lead.objects.select_related("customer")
    lookup_url_kwarg = "lead_id"

    def perform_destroy(self, lead):
        """A lead whose call is being placed or is under way stays until it ends."""
        with transaction.atomic():
            removed, _ = (
                Lead.objects.filter(pk=lead.pk)
                .exclude(state__in=Lead.IN_FLIGHT_STATES)
                .delete()
            )
        if not removed:
            raise Conflict("This lead is being called right now; remove it once the call has ended.")
