from django import forms
from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html

from calls.models import ApiToken, Call, CallEvent, Listening, TranscriptLine, TransferAttempt


class TranscriptLineInline(admin.TabularInline):
    model = TranscriptLine
    fields = ["offset_ms", "speaker", "text"]
    readonly_fields = fields
    extra = 0
    can_delete = False


class CallEventInline(admin.TabularInline):
    model = CallEvent
    fields = ["sequence_number", "call_status", "received_at", "params"]
    readonly_fields = fields
    extra = 0
    can_delete = False


class TransferAttemptInline(admin.TabularInline):
    model = TransferAttempt
    fk_name = "call"
    fields = ["created_at", "mode", "target", "requested_by", "reason", "status", "agent_call_sid",
              "answered_at", "ended_at", "duration_secs", "error"]
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(Call)
class CallAdmin(admin.ModelAdmin):
    list_display = [
        "__str__", "direction", "live_status", "campaign", "customer", "disposition",
        "duration_seconds", "created_at",
    ]
    list_filter = ["status", "direction", "disposition", "campaign"]
    search_fields = ["call_sid", "customer__phone", "customer__first_name", "customer__last_name",
                     "from_number", "to_number"]
    list_select_related = ["campaign", "customer"]
    raw_id_fields = ["customer", "lead", "transfer_of"]
    inlines = [TranscriptLineInline, TransferAttemptInline, CallEventInline]
    date_hierarchy = "created_at"
    # A million calls: skip the unfiltered COUNT(*) the changelist would run on every page.
    show_full_result_count = False
    # Recordings are never served from MEDIA_URL (it would 404, and must not be public): the
    # field is read-only and links to the staff-only streaming view instead.
    exclude = ["recording"]
    readonly_fields = ["recording_link"]
    # templates/admin/calls/call/change_form.html adds the live status and transcript panel;
    # change_list.html loads static/js/live.js, which keeps the status badges current.

    @admin.display(description="status", ordering="status")
    def live_status(self, call):
        return format_html(
            '<span class="badge status-{}" data-call-status="{}" data-status="{}">{}</span>',
            call.status, call.pk, call.status, call.get_status_display(),
        )

    def get_fields(self, request, obj=None):
        # The link takes the recording field's place, after the summary, not the form's end.
        fields = [name for name in super().get_fields(request, obj) if name != "recording_link"]
        fields.insert(fields.index("summary") + 1, "recording_link")
        return fields

    @admin.display(description="recording")
    def recording_link(self, call):
        if not call.recording:
            return "-"
        url = reverse("call-recording", args=[call.pk])
        return format_html('<a href="{}">Play or download the recording</a>', url)


@admin.register(CallEvent)
class CallEventAdmin(admin.ModelAdmin):
    list_display = ["call", "sequence_number", "call_status", "received_at"]
    list_filter = ["call_status"]
    search_fields = ["call__call_sid"]
    raw_id_fields = ["call"]


@admin.register(Listening)
class ListeningAdmin(admin.ModelAdmin):
    """The audit log: read only, nobody edits who listened."""

    list_display = ["started_at", "ended_at", "username", "call"]
    search_fields = ["username", "call__call_sid"]
    readonly_fields = ["call", "user", "username", "started_at", "ended_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(TranscriptLine)
class TranscriptLineAdmin(admin.ModelAdmin):
    list_display = ["call", "speaker", "offset_ms", "text"]
    list_filter = ["speaker"]
    search_fields = ["call__call_sid", "text"]
    raw_id_fields = ["call"]


class ApiTokenForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(choices=ApiToken.Scope.choices, widget=forms.CheckboxSelectMultiple,
                                       initial=[ApiToken.Scope.READ])

    class Meta:
        model = ApiToken
        fields = ["name", "scopes", "revoked"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens for the API. The token is shown once, when it is made; only its hash is
    kept, so a lost token is revoked and replaced, never recovered."""

    form = ApiTokenForm
    list_display = ["name", "prefix", "scopes", "created_by", "created_at", "last_used_at", "revoked"]
    list_filter = ["revoked"]
    search_fields = ["name", "prefix"]
    readonly_fields = ["prefix", "created_by", "created_at", "last_used_at"]

    def get_fields(self, request, obj=None):
        return ["name", "scopes"] if obj is None else [
            "name", "scopes", "prefix", "created_by", "created_at", "last_used_at", "revoked"]

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        secret = obj.set_new_token()
        obj.created_by = request.user
        super().save_model(request, obj, form, change)
        self.message_user(request, f"API token for '{obj.name}' (copy it now, it is not shown again): "
                                   f"{secret}", messages.WARNING)
