from django.contrib import admin

from campaigns.models import Campaign, Customer, DoNotCall, Lead


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ["name", "status", "voice_stack", "caller_id", "max_concurrent_calls", "created_at"]
    list_filter = ["status", "voice_stack"]
    search_fields = ["name", "slug", "caller_id"]
    prepopulated_fields = {"slug": ["name"]}


class DoNotCallFilter(admin.SimpleListFilter):
    title = "do not call"
    parameter_name = "do_not_call"

    def lookups(self, request, model_admin):
        return [("yes", "On the list"), ("no", "Not on the list")]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.with_do_not_call().filter(on_do_not_call=self.value() == "yes")
        return queryset


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["phone", "first_name", "last_name", "email", "timezone", "created_at"]
    list_filter = [DoNotCallFilter, "timezone"]
    search_fields = ["phone", "first_name", "last_name", "email"]


@admin.register(Lead)
class LeadAdmin(admin.ModelAdmin):
    list_display = ["customer", "campaign", "state", "attempts", "next_attempt_at", "last_outcome"]
    list_filter = ["state", "last_outcome", "campaign"]
    search_fields = ["customer__phone", "customer__first_name", "customer__last_name"]
    list_select_related = ["customer", "campaign"]
    raw_id_fields = ["customer"]


@admin.register(DoNotCall)
class DoNotCallAdmin(admin.ModelAdmin):
    list_display = ["phone", "reason", "source", "created_at"]
    list_filter = ["source"]
    search_fields = ["phone"]

# --- Contact imports ------------------------------------------------------------------
from campaigns.models import ContactImport  # noqa: E402


@admin.register(ContactImport)
class ContactImportAdmin(admin.ModelAdmin):
    list_display = ["original_name", "campaign", "status", "rows_done", "total_rows", "invalid", "created_at"]
    list_filter = ["status"]
    search_fields = ["original_name"]
    raw_id_fields = ["campaign", "created_by"]
    readonly_fields = ["rows_done", "total_rows", *ContactImport.BUCKETS, "started_at", "finished_at"]
