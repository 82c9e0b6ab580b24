from django import forms
from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html

from campaigns.webhooks import delivery, sending
from campaigns.webhooks.models import Attempt, Delivery, Endpoint, EventType


class EndpointForm(forms.ModelForm):
    url = forms.URLField(max_length=2000, assume_scheme="https")
    events = forms.MultipleChoiceField(choices=EventType.choices, widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = Endpoint
        fields = ["url", "events", "campaign", "description", "enabled"]

    def clean_url(self):
        sending.check_url(self.cleaned_data["url"])
        return self.cleaned_data["url"]


@admin.register(Endpoint)
class EndpointAdmin(admin.ModelAdmin):
    form = EndpointForm
    list_display = ["url", "campaign", "event_list", "enabled", "failing_since"]
    list_filter = ["enabled", "campaign"]
    readonly_fields = ["secret_hint", "failing_since", "disabled_reason", "delivery_log"]
    actions = ["rotate_secret"]

    @admin.display(description="events")
    def event_list(self, endpoint):
        return ", ".join(endpoint.events)

    @admin.display(description="secret")
    def secret_hint(self, endpoint):
        return f"{endpoint.secret[:10]}… (shown in full once, when made or rotated)" if endpoint.pk else "-"

    @admin.display(description="delivery log")
    def delivery_log(self, endpoint):
        url = reverse("admin:webhooks_delivery_changelist") + f"?endpoint__id__exact={endpoint.pk}"
        return format_html('<a href="{}">Deliveries to this endpoint</a>', url) if endpoint.pk else "-"

    def save_model(self, request, endpoint, form, change):
        if change and "enabled" in form.changed_data and endpoint.enabled:
            endpoint.disabled_reason, endpoint.failing_since = "", None
        super().save_model(request, endpoint, form, change)
        if not change:
            messages.warning(request, f"The signing secret, shown this once: {endpoint.secret}")

    @admin.action(description="Rotate the signing secret (the old one stays valid for 24 h)")
    def rotate_secret(self, request, queryset):
        for endpoint in queryset:
            secret = endpoint.rotate_secret()
            messages.warning(request, f"New secret for {endpoint.url}, shown this once: {secret}")


class AttemptInline(admin.TabularInline):
    model = Attempt
    fields = ["started_at", "status_code", "response_ms", "response_excerpt", "error"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ["event", "endpoint", "state", "attempts", "last_status_code", "next_attempt_at",
                    "created_at"]
    list_filter = ["state", "endpoint"]
    list_select_related = ["event", "endpoint"]
    readonly_fields = ["event", "endpoint", "state", "attempts", "last_status_code", "last_error",
                       "next_attempt_at", "delivered_at", "body"]
    fields = readonly_fields
    inlines = [AttemptInline]
    actions = ["redeliver"]

    @admin.display(description="body")
    def body(self, obj):
        return obj.event.body

    def has_add_permission(self, request):
        return False

    @admin.action(description="Redeliver (same event id)")
    def redeliver(self, request, queryset):
        count = delivery.redeliver(list(queryset.values_list("pk", flat=True)))
        messages.success(request, f"{count} deliveries queued again.")
