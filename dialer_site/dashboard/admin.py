"""The campaign admin, with what the dashboard shows live: status and live calls."""

from django.contrib import admin, messages
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils.html import format_html

from calls.models import Call
from campaigns import lifecycle
from campaigns.models import Campaign


def _run_transition(modeladmin, request, queryset, move, verb: str) -> None:
    """Apply a lifecycle move to each selected campaign; say which moved and why others did not."""
    moved = 0
    for campaign in queryset:
        try:
            move(campaign, user=request.user)
        except lifecycle.TransitionError as e:
            modeladmin.message_user(request, f"{campaign}: {e}", messages.ERROR)
        else:
            moved += 1
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

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change:
            lifecycle.created(obj, user=request.user)

    def get_queryset(self, request):
        # Live calls through the partial index on live statuses: one probe per campaign row.
        live_now = (
            Call.objects.counted().live().filter(campaign=OuterRef("pk"))
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
        def pause(campaign, user):
            lifecycle.pause(campaign, reason=f"Paused by {user.get_username()} in the admin.", user=user)

        _run_transition(self, request, queryset, pause, "Paused")

    @admin.action(description="Resume selected paused campaigns")
    def resume_campaigns(self, request, queryset):
        _run_transition(self, request, queryset, lifecycle.resume, "Resumed")
