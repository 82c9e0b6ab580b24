"""Calls: place one now (scope `calls`), list them with filters, read one with its
transcript and events, download its recording."""

import re

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, generics, pagination, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from calls import idempotency
from calls.api.problems import MEDIA_TYPE, Conflict, Unprocessable, problem
from calls.dialer import now as dial_now
from calls.models import ApiToken, Call, CallEvent, IdempotencyKey, TranscriptLine, TransferAttempt
from calls.views import recording_response
from campaigns.models import Campaign, Customer, Disposition, DoNotCall
from campaigns.phones import to_e164

PARAMETER_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,59}$")
PARAMETER_VALUE_MAX = 500


class CursorPage(pagination.CursorPagination):
    """Newest first, positioned by an opaque cursor: page 2,000 costs what page 1 does."""

    ordering = ("-created_at", "-id")
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    def decode_cursor(self, request):
        try:
            return super().decode_cursor(request)
        except exceptions.NotFound:  # DRF's answer; a malformed parameter is the client's error
            raise serializers.ValidationError(
                {"cursor": ["Not a valid cursor: pass a `next` or `previous` link as given."]}
            ) from None


def find_campaign(reference) -> Campaign | None:
    if reference in (None, ""):
        return None
    lookup = {"pk": int(reference)} if str(reference).isdigit() else {"slug": str(reference)}
    campaign = Campaign.objects.filter(**lookup).first()
    if campaign is None:
        raise serializers.ValidationError(f"There is no campaign '{reference}'.")
    return campaign


class ParametersField(serializers.DictField):
    child = serializers.CharField(max_length=PARAMETER_VALUE_MAX, allow_blank=True)

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise serializers.ValidationError("'parameters' must be an object of names to text values.")
        for name, value in data.items():
            if not PARAMETER_NAME.match(str(name)):
                raise serializers.ValidationError(
                    f"Parameter name '{name}' may use only letters, digits and underscores."
                )
            if not isinstance(value, str | int | float) or isinstance(value, bool):
                raise serializers.ValidationError(
                    f"Parameter '{name}' must be text of at most {PARAMETER_VALUE_MAX} characters."
                )
        return super().to_internal_value({name: str(value) for name, value in data.items()})


class PlaceCallSerializer(serializers.Serializer):
    to = serializers.CharField(
        max_length=32, help_text="The number to call; E.164, or national with `country`."
    )
    country = serializers.CharField(
        max_length=2, required=False, allow_blank=True, help_text="ISO country for a national `to`, e.g. US."
    )
    campaign = serializers.CharField(
        max_length=64,
        required=False,
        allow_blank=True,
        allow_null=True,
        help_text="A campaign's slug or id: its bot, script and caller ID.",
    )
    from_ = serializers.CharField(
        max_length=16,
        required=False,
        allow_blank=True,
        help_text="Caller ID; defaults to the campaign's, then TWILIO_CALLER_ID.",
    )
    parameters = ParametersField(required=False, help_text="Extra values for the bot, name → text.")

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = fields.pop("from_")  # a Python keyword
        return fields

    def validate(self, attrs):
        try:
            attrs["phone"] = to_e164(attrs["to"], attrs.get("country") or None)
        except DjangoValidationError as error:
            raise serializers.ValidationError({"to": error.messages}) from None
        attrs["campaign"] = find_campaign(attrs.get("campaign"))
        campaign_number = attrs["campaign"].caller_id if attrs["campaign"] else ""
        attrs["from_number"] = attrs.get("from") or campaign_number or settings.TWILIO_CALLER_ID
        if not attrs["from_number"]:
            raise serializers.ValidationError(
                "Say which number to call from: 'from', or a campaign with a caller ID."
            )
        return attrs


class PlacedCallSerializer(serializers.ModelSerializer):
    class Meta:
        model = Call
        fields = ["id", "call_sid", "status"]


class TranscriptLineSerializer(serializers.ModelSerializer):
    class Meta:
        model = TranscriptLine
        fields = ["speaker", "text", "offset_ms"]


class CallEventSerializer(serializers.ModelSerializer):
    status = serializers.CharField(source="call_status")

    class Meta:
        model = CallEvent
        fields = ["status", "sequence_number", "received_at"]


class TransferAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = TransferAttempt
        fields = ["target", "mode", "requested_by", "reason", "summary", "status", "agent_call_sid",
                  "created_at", "answered_at", "ended_at", "duration_secs"]


class CallSerializer(serializers.ModelSerializer):
    to = serializers.CharField(source="to_number")
    from_ = serializers.CharField(source="from_number")
    campaign = serializers.SerializerMethodField(help_text="The campaign's slug, or its id when it has none.")
    outcome = serializers.ChoiceField(source="disposition", choices=Disposition.choices, allow_blank=True)
    has_recording = serializers.SerializerMethodField()

    class Meta:
        model = Call
        fields = [
            "id",
            "call_sid",
            "direction",
            "to",
            "from_",
            "campaign",
            "campaign_id",
            "lead_id",
            "attempt",
            "status",
            "answered_by",
            "duration_seconds",
            "outcome",
            "transferred_to",
            "notes",
            "summary",
            "created_at",
            "answered_at",
            "ended_at",
            "has_recording",
        ]

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = fields.pop("from_")
        return fields

    def get_campaign(self, call) -> str | None:
        return (call.campaign.slug or str(call.campaign.pk)) if call.campaign else None

    def get_has_recording(self, call) -> bool:
        return bool(call.recording)


class CallDetailSerializer(CallSerializer):
    transcript = TranscriptLineSerializer(many=True, read_only=True)
    events = CallEventSerializer(many=True, read_only=True)
    transfers = TransferAttemptSerializer(many=True, read_only=True, help_text="Each agent rung, in order.")

    class Meta(CallSerializer.Meta):
        fields = [*CallSerializer.Meta.fields, "transcript", "events", "transfers"]


FILTERS = {
    "campaign": ("campaign_id", OpenApiTypes.INT, "A campaign's id."),
    "lead": ("lead_id", OpenApiTypes.INT, "A lead's id."),
    "status": ("status", OpenApiTypes.STR, "Twilio's call status, e.g. completed."),
    "outcome": ("disposition", OpenApiTypes.STR, "e.g. interested."),
    "direction": ("direction", OpenApiTypes.STR, "inbound or outbound."),
    "to": ("to_number", OpenApiTypes.STR, "The number called, E.164."),
    "created_after": ("created_at__gte", OpenApiTypes.DATETIME, "ISO 8601."),
    "created_before": ("created_at__lt", OpenApiTypes.DATETIME, "ISO 8601."),
}


class FilterSerializer(serializers.Serializer):
    campaign = serializers.IntegerField(required=False, min_value=1)
    lead = serializers.IntegerField(required=False, min_value=1)
    status = serializers.ChoiceField(Call.Status.choices, required=False)
    outcome = serializers.ChoiceField(Disposition.choices, required=False)
    direction = serializers.ChoiceField(Call.Direction.choices, required=False)
    to = serializers.CharField(required=False, max_length=32)
    created_after = serializers.DateTimeField(required=False)
    created_before = serializers.DateTimeField(required=False)


class CallList(generics.ListCreateAPIView):
    """GET lists calls, newest first; POST places one call now."""

    write_scope = ApiToken.Scope.CALLS
    pagination_class = CursorPage
    serializer_class = CallSerializer

    def get_queryset(self):
        given = FilterSerializer(data=self.request.query_params)
        given.is_valid(raise_exception=True)
        lookups = {FILTERS[name][0]: value for name, value in given.validated_data.items()}
        return Call.objects.counted().filter(**lookups).select_related("campaign")

    @extend_schema(
        parameters=[
            OpenApiParameter(name, kind, description=text) for name, (_, kind, text) in FILTERS.items()
        ]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=PlaceCallSerializer,
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                description="Makes the request safe to send again for 24 hours: the same key and body "
                "get the same call (Idempotent-Replayed: true). "
                f"At most {IdempotencyKey.KEY_MAX_LENGTH} characters.",
            )
        ],
        responses={
            201: PlacedCallSerializer,
            202: OpenApiResponse(
                PlacedCallSerializer,
                description="Queued: the calls per second are taken; "
                "a worker places it as soon as they allow (GET shows how it went).",
            ),
            409: OpenApiResponse(description="The number is on the do-not-call list."),
            422: OpenApiResponse(description="The Idempotency-Key was used for a different request."),
            502: OpenApiResponse(description="Twilio refused the call."),
        },
    )
    def post(self, request):
        key = request.headers.get("Idempotency-Key", "").strip()
        if len(key) > IdempotencyKey.KEY_MAX_LENGTH:
            raise serializers.ValidationError(
                f"An Idempotency-Key has at most {IdempotencyKey.KEY_MAX_LENGTH} characters."
            )
        if not isinstance(request.data, dict):
            raise serializers.ValidationError("The body must be a JSON object.")
        try:
            return self._create_once(request.auth, key, request.data)
        except idempotency.KeyReused:
            raise Unprocessable(
                "This Idempotency-Key was already used for a different request; send a new key."
            ) from None

    def _create_once(self, api_token: ApiToken, key: str, body: dict) -> Response:
        earlier = idempotency.earlier_call(api_token, key, body)
        if earlier is not None:
            return _answer(earlier, replayed=True)
        given = PlaceCallSerializer(data=body)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        if DoNotCall.objects.listed(data["phone"]):
            raise Conflict(f"{data['phone']} is on the do-not-call list.")
        customer, _ = Customer.objects.get_or_create(phone=data["phone"])
        call, replayed = idempotency.create_once(
            api_token,
            key,
            body,
            lambda: dial_now.new_call(
                customer, data["campaign"], data["from_number"], data.get("parameters", {})
            ),
        )
        return _answer(call if replayed else dial_now.call_now(call), replayed)


def _answer(call: Call, replayed: bool = False) -> Response:
    """201 once Twilio has the call, 202 while it waits for a calls-per-second token (or for
    Twilio's answer): a worker places it, and GET shows how it went. A call that failed
    before reaching Twilio (its number put on the do-not-call list meanwhile) is 409."""
    if call.status == Call.Status.FAILED and not call.dial_requested_at:
        response = Response(problem(409, call.error_message), status=409, content_type=MEDIA_TYPE)
    elif call.status == Call.Status.FAILED:
        detail = f"Twilio did not place the call: {call.error_message}"
        response = Response(problem(502, detail), status=502, content_type=MEDIA_TYPE)
    else:
        response = Response(PlacedCallSerializer(call).data, status=201 if call.call_sid else 202)
    if replayed:
        response["Idempotent-Replayed"] = "true"
    return response


class CallDetail(generics.RetrieveAPIView):
    serializer_class = CallDetailSerializer
    queryset = Call.objects.select_related("campaign").prefetch_related("transcript", "events", "transfers")
    lookup_url_kwarg = "call_id"

    def get_object(self):
        call = self.get_queryset().filter(pk=self.kwargs["call_id"]).first()
        if call is None:
            raise exceptions.NotFound(f"There is no call {self.kwargs['call_id']}.")
        return call


class CallRecording(APIView):
    @extend_schema(
        responses={
            (200, "audio/wav"): OpenApiTypes.BINARY,
            404: OpenApiResponse(description="No such call, or no recording."),
        }
    )
    def get(self, request, call_id: int):
        """The call's recording (WAV), with Range support."""
        call = get_object_or_404(Call, pk=call_id)
        if not call.recording:
            raise exceptions.NotFound("This call has no recording.")
        return recording_response(request, call)
