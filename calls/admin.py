from django.contrib import admin

from calls.models import Call, CallEvent, TranscriptLine


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


@admin.register(Call)
class CallAdmin(admin.ModelAdmin):
    list_display = [
        "call_sid", "direction", "status", "campaign", "customer", "disposition",
        "duration_seconds", "created_at",
    ]
    list_filter = ["status", "direction", "disposition", "campaign"]
    search_fields = ["call_sid", "customer__phone", "customer__first_name", "customer__last_name",
                     "from_number", "to_number"]
    list_select_related = ["campaign", "customer"]
    raw_id_fields = ["customer", "lead"]
    inlines = [TranscriptLineInline, CallEventInline]
    date_hierarchy = "created_at"


@admin.register(CallEvent)
class CallEventAdmin(admin.ModelAdmin):
    list_display = ["call", "sequence_number", "call_status", "received_at"]
    list_filter = ["call_status"]
    search_fields = ["call__call_sid"]
    raw_id_fields = ["call"]


@admin.register(TranscriptLine)
class TranscriptLineAdmin(admin.ModelAdmin):
    list_display = ["call", "speaker", "offset_ms", "text"]
    list_filter = ["speaker"]
    search_fields = ["call__call_sid", "text"]
    raw_id_fields = ["call"]
