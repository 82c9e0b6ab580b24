from django.contrib import admin, messages
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils.html import format_html

from calls import live
from calls.models import Call
from campaigns import do_not_call, lifecycle, stats
from campaigns.models import Campaign, ContactImport, Customer, DoNotCall, Lead


def _run_transition(modeladmin, request, queryset, move, verb: str) -> None:
    """Apply a lifecycle move to each selected campaign; say which moved and why others did not."""
    moved = 0
    for campaign in queryset:
        try:
            move(campaign)
        except lifecycle.TransitionError as e:
            modeladmin.message_user(request, f"{campaign}: {e}", messages.ERROR)
        else:
            moved += 1
            live.publish_campaign(campaign.pk, stats.campaign_summary(campaign))
    if moved:
        modeladmin.message_user(request, f"{verb} {moved} campaign{pluralize(moved)}.", messages.SUCCESS)


def _board_cell(campaign, inner: str) -> str:
    """A list cell that live.js keeps up to date from the campaign's board."""
    return format_html(
        '<span data-campaign-row="{}" data-board-url="{}">{}</span>',
        campaign.pk, reverse("campaign-board", args=[campaign.pk]), inner,
    )


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ["name", "live_status", "live_calls", "voice_stack", "caller_id", "max_concurrent_calls",
                    "answering_machine_detection", "created_at"]
    list_filter = ["status", "voice_stack"]
    search_fields = ["name", "slug", "caller_id"]
    prepopulated_fields = {"slug": ["name"]}
    actions = ["start_campaigns", "pause_campaigns", "resume_campaigns"]

    def get_queryset(self, request):
        # Live calls through the partial index on live statuses: one probe per campaign row.
        live_now = (
            Call.objects.live().filter(campaign=OuterRef("pk"))
            .order_by().values("campaign").annotate(n=Count("id")).values("n")
        )
        return super().get_queryset(request).annotate(live_now=Coalesce(Subquery(live_now), 0))

    @admin.display(description="status", ordering="status")
    def live_status(self, campaign):
        return _board_cell(campaign, format_html(
            '<span class="badge status-{}" data-summary="status">{}</span>',
            campaign.status, campaign.get_status_display(),
        ))

    @admin.display(description="live calls", ordering="live_now")
    def live_calls(self, campaign):
        return _board_cell(
            campaign, format_html('<span data-summary="live_calls">{}</span>', campaign.live_now)
        )

    @admin.action(description="Start selected campaigns")
    def start_campaigns(self, request, queryset):
        _run_transition(self, request, queryset, lifecycle.start, "Started")

    @admin.action(description="Pause selected campaigns")
    def pause_campaigns(self, request, queryset):
        def pause(campaign):
            lifecycle.pause(campaign, reason=f"Paused by {request.user.get_username()} in the admin.")

        _run_transition(self, request, queryset, pause, "Paused")

    @admin.action(description="Resume selected paused campaigns")
    def resume_campaigns(self, request, queryset):
        _run_transition(self, request, queryset, lifecycle.resume, "Resumed")


def _mark_do_not_call(modeladmin, request, phones) -> None:
    added = do_not_call.add(list(phones), reason=f"Marked by {request.user.get_username()} in the admin")
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
        removed = do_not_call.remove(list(queryset.values_list("phone", flat=True)))
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
