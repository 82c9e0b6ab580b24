"""What a campaign's pages redraw when its calls move. Every page gets the summary (status,
progress, outcome counts, live calls, answer rate); the campaign's own page also gets the
charts' data, its Recent calls rows, its transfer figures, its "Before it can resume" notice
and the rows of the leads it shows that changed. Rows
come as the HTML the page itself was rendered from, so a live page and a reload cannot
differ."""

from django.template.loader import render_to_string

from calls import capacity, live
from campaigns import lifecycle
from campaigns import stats as campaign_stats
from campaigns.models import Campaign, CampaignEvent
from dialer_site.dashboard import stats

RECENT_CALLS = 10
TIMELINE_LENGTH = 50  # the latest moves; a campaign paused and resumed all day has hundreds


def recent_calls(campaign: Campaign):
    return campaign.calls.counted().select_related("customer").order_by("-created_at")[:RECENT_CALLS]


def timeline(campaign_id: int) -> list[CampaignEvent]:
    """The campaign's latest moves, oldest first."""
    latest = CampaignEvent.objects.filter(campaign_id=campaign_id).select_related("user")
    return list(latest.order_by("-at", "-id")[:TIMELINE_LENGTH])[::-1]


def timeline_html(campaign_id: int) -> str:
    return render_to_string("campaigns/_timeline.html", {"timeline": timeline(campaign_id)})


def publish_move(sender, campaign: Campaign, **kwargs) -> None:
    """campaigns.lifecycle.campaign_changed's receiver: the campaign's pages hear of the move,
    its timeline included (the breaker pausing it, staff resuming it …)."""
    live.publish_campaign(campaign.pk, stats.campaign_summary(campaign), timeline_html(campaign.pk))


def publish_settings(campaign: Campaign) -> None:
    """Saved settings (a caller ID set, a voice stack changed) change what the campaign page's
    notice asks staff to fix: its open pages recompute it (see DashboardConsumer.campaign_update)."""
    live.publish_campaign(campaign.pk, stats.campaign_summary(campaign))


def publish_leads(sender, campaign_id: int, **kwargs) -> None:
    """campaigns.imports.writing.leads_written's receiver: contacts imported into a campaign (a
    paused one too) move its progress, may answer its notice ("Add at least one contact …")
    and change the rows its pages show."""
    live.publish_leads_changed(campaign_id)


NOTICE_STATUSES = (Campaign.Status.DRAFT, Campaign.Status.PAUSED)


def problems(campaign: Campaign) -> list[str]:
    """What stands in the way of starting a draft or resuming a paused campaign, for the
    page's "Before it can resume" notice."""
    if campaign.status not in NOTICE_STATUSES:
        return []
    return lifecycle.startability_problems(campaign)


def summary(campaign_id: int) -> dict | None:
    campaign = Campaign.objects.filter(pk=campaign_id).first()
    return stats.campaign_summary(campaign) if campaign else None


def held(campaign: Campaign) -> str:
    """Why a running campaign dials nothing though it may (no web process to take the calls,
    or they are full), for the page's "Calls are held" notice; empty otherwise."""
    return capacity.web_room().why_held() if campaign.status == Campaign.Status.RUNNING else ""


def page_parts(campaign: Campaign, *, dear: bool = True) -> dict[str, str]:
    """The page's other server-rendered parts, by element id. Not `dear`: a call moved, and
    nothing else, so the transfer figures (an aggregate over all the campaign's calls) are
    left as the page shows them, and the notice too unless the campaign shows one (paused or
    draft: a call ending may have used up its last contact)."""
    # Why calls are held: a Redis read and one indexed count, so on every refresh (calls
    # moving fill and free the web processes' streams).
    html = {"campaign-held": render_to_string("campaigns/_held.html", {"held": held(campaign)})}
    if dear or campaign.status in NOTICE_STATUSES:
        html["campaign-problems"] = render_to_string(
            "campaigns/_problems.html", {"campaign": campaign, "problems": problems(campaign)})
    if dear:
        html["transfer-figures"] = render_to_string(
            "campaigns/_transfer_figures.html", {"transfers": campaign_stats.transfer_figures(campaign)})
    return html


def figures(campaign_id: int, lead_ids: list[int], *, parts: bool = True) -> dict | None:
    """Everything the campaign page shows beside the live board, for leads `lead_ids`; with
    `parts`, the dear ones too (see page_parts())."""
    campaign = Campaign.objects.filter(pk=campaign_id).first()
    if campaign is None:
        return None
    overview = stats.campaign_summary(campaign)
    leads = stats.leads_last_call(campaign.leads.filter(pk__in=lead_ids).select_related("customer"))
    return {
        "id": campaign.pk,
        "campaign": overview,
        "chart": {"hourly": stats.calls_per_hour(campaign), "outcomes": overview["outcomes"]},
        "recent_calls_html": render_to_string(
            "calls/_call_rows.html", {"calls": recent_calls(campaign), "hide_campaign": True}),
        "leads": {str(lead.pk): render_to_string("campaigns/_lead_row.html", {"lead": lead})
                  for lead in leads},
        "html": page_parts(campaign, dear=parts),
    }
