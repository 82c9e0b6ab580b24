"""Webhook endpoints: made with their secret shown once, read, changed, removed; their
secret rotated; their delivery log, and redelivery."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from calls.api.calls import CursorPage
from campaigns.models import Campaign
from campaigns.webhooks import delivery, sending
from campaigns.webhooks.models import Attempt, Delivery, Endpoint, EventType


class EndpointSerializer(serializers.ModelSerializer):
    events = serializers.ListField(
        child=serializers.ChoiceField(EventType.values),
        allow_empty=False,
        help_text="The event types to receive.",
    )
    campaign = serializers.PrimaryKeyRelatedField(
        queryset=Campaign.objects.all(),
        required=False,
        allow_null=True,
        help_text="Only this campaign's events; leave out for every campaign's.",
    )

    class Meta:
        model = Endpoint
        fields = [
            "id",
            "url",
            "events",
            "campaign",
            "description",
            "enabled",
            "disabled_reason",
            "failing_since",
            "created_at",
        ]
        read_only_fields = ["disabled_reason", "failing_since", "created_at"]

    def validate_url(self, url):
        try:
            sending.check_url(url)
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.messages) from None
        return url

    def validate_events(self, events):
        return list(dict.fromkeys(events))

    def update(self, endpoint, validated_data):
        if validated_data.get("enabled") and not endpoint.enabled:
            validated_data |= {"disabled_reason": "", "failing_since": None}
        return super().update(endpoint, validated_data)


class NewEndpointSerializer(EndpointSerializer):
    secret = serializers.CharField(read_only=True, help_text="whsec_…: shown this once.")

    class Meta(EndpointSerializer.Meta):
        fields = [*EndpointSerializer.Meta.fields, "secret"]


class EndpointList(generics.ListCreateAPIView):
    pagination_class = CursorPage
    queryset = Endpoint.objects.all()

    def get_serializer_class(self):
        return NewEndpointSerializer if self.request.method == "POST" else EndpointSerializer


class EndpointDetail(generics.RetrieveUpdateDestroyAPIView):
    serializer_class = EndpointSerializer
    queryset = Endpoint.objects.all()
    lookup_url_kwarg = "endpoint_id"


class RotateSecret(APIView):
    @extend_schema(
        request=None,
        responses=inline_serializer(
            "RotatedSecret",
            {
                "secret": serializers.CharField(
                    help_text="The new secret; the old one signs too for 24 hours."
                )
            },
        ),
    )
    def post(self, request, endpoint_id: int):
        endpoint = get_object_or_404(Endpoint, pk=endpoint_id)
        return Response({"secret": endpoint.rotate_secret()})


class AttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = Attempt
        fields = ["started_at", "status_code", "response_ms", "response_excerpt", "error"]


class DeliverySerializer(serializers.ModelSerializer):
    event_id = serializers.CharField()
    event_type = serializers.CharField(source="event.type")
    log = AttemptSerializer(many=True, read_only=True)

    class Meta:
        model = Delivery
        fields = [
            "id",
            "event_id",
            "event_type",
            "state",
            "attempts",
            "next_attempt_at",
            "last_status_code",
            "last_error",
            "created_at",
            "delivered_at",
            "log",
        ]


class DeliveryLog(generics.ListAPIView):
    """Deliveries to this endpoint, newest first, each with its attempts."""

    serializer_class = DeliverySerializer
    pagination_class = CursorPage

    def get_queryset(self):
        endpoint = get_object_or_404(Endpoint, pk=self.kwargs["endpoint_id"])
        return endpoint.deliveries.select_related("event").prefetch_related("log")


class Redeliver(APIView):
    @extend_schema(request=None, responses={202: DeliverySerializer})
    def post(self, request, endpoint_id: int, delivery_id: int):
        """Send the event again now, with the same webhook-id."""
        found = get_object_or_404(Delivery, pk=delivery_id, endpoint_id=endpoint_id)
        delivery.redeliver([found.pk])
        found.refresh_from_db()
        return Response(DeliverySerializer(found).data, status=status.HTTP_202_ACCEPTED)
