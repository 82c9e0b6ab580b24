"""The admin for customers, leads, the do-not-call list and imports; campaigns' own, with
their live figures, is the dashboard's (dashboard/admin.py)."""

from django.contrib import admin
from django.template.defaultfilters import pluralize

from campaigns.models import ContactImport, Customer, DoNotCall, Lead


def _mark_do_not_call(modeladmin, request, phones) -> None:
    reason = f"Marked by {request.user.get_username()} in the admin"
    added = DoNotCall.objects.add(list(phones), reason=reason)
    modeladmin.message_user(request, f"Added {added} number{pluralize(added)} to the do-not-call list.")


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
    list_display = ["phone", "first_name", "last_name", "email", "timezone", "do_not_call", "created_at"]
    list_filter = [DoNotCallFilter, "timezone"]
    search_fields = ["phone", "first_name", "last_name", "email"]
    actions = ["mark_do_not_call", "unmark_do_not_call"]

    def get_queryset(self, request):
        return super().get_queryset(request).with_do_not_call()

    @admin.display(description="do not call", boolean=True, ordering="on_do_not_call")
    def do_not_call(self, customer):
        return customer.on_do_not_call

    @admin.action(description="Add to the do-not-call list")
    def mark_do_not_call(self, request, queryset):
        _mark_do_not_call(self, request, queryset.values_list("phone", flat=True))

    @admin.action(description="Remove from the do-not-call list")
    def unmark_do_not_call(self, request, queryset):
        removed = DoNotCall.objects.remove(list(queryset.values_list("phone", flat=True)))
        self.message_user(request, f"Removed {removed} number{pluralize(removed)} from the do-not-call list.")


@admin.register(Lead)
class LeadAdmin(admin.ModelAdmin):
    list_display = ["customer", "campaign", "state", "attempts", "next_attempt_at", "last_outcome"]
    list_filter = ["state", "last_outcome", "campaign"]
    search_fields = ["customer__phone", "customer__first_name", "customer__last_name"]
    list_select_related = ["customer", "campaign"]
    raw_id_fields = ["customer"]
    actions = ["mark_do_not_call"]

    @admin.action(description="Add these customers to the do-not-call list")
    def mark_do_not_call(self, request, queryset):
        _mark_do_not_call(self, request, queryset.values_list("customer__phone", flat=True))


@admin.register(DoNotCall)
class DoNotCallAdmin(admin.ModelAdmin):
    list_display = ["phone", "reason", "source", "created_at"]
    list_filter = ["source"]
    search_fields = ["phone"]


@admin.register(ContactImport)
class ContactImportAdmin(admin.ModelAdmin):
    list_display = ["original_name", "campaign", "status", "rows_done", "total_rows", "invalid", "created_at"]
    list_filter = ["status"]
    search_fields = ["original_name"]
    raw_id_fields = ["campaign", "created_by"]
    readonly_fields = ["rows_done", "total_rows", *ContactImport.BUCKETS, "started_at", "finished_at"]
