import logging

from django.contrib import messages
from django.db import transaction
from django.db.models import Q
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views.decorators.http import require_POST
from requests import RequestException
from twilio.base.exceptions import TwilioException

from calls import twilio_client
from calls.models import Call
from campaigns import caller_ids, lifecycle
from campaigns import stats as lead_stats
from campaigns.forms import CampaignSettingsForm, ReasonForm
from campaigns.models import CallerNumber, Campaign, Disposition, Lead
from common.access import staff_required
from common.paging import keyset_page
from dialer_site.dashboard import live_figures, stats, try_bot

logger = logging.getLogger(__name__)

LEADS_PER_PAGE = 50
TEST_CALLS_SHOWN = 5


def _get_campaign(campaign_id: int) -> Campaign:
    # Every staff member sees every campaign; the access check is staff_required.
    return get_object_or_404(Campaign, pk=campaign_id)


def _url_or_none(name: str, *args, query: str = "") -> str | None:
    """Pages of other features (contact import, export), when they are installed."""
    try:
        return reverse(name, args=args) + query
    except NoReverseMatch:
        return None


@staff_required
def campaign_list(request):
    campaigns = list(Campaign.objects.all())
    ids = [c.pk for c in campaigns]
    breakdowns, live_counts = lead_stats.lead_breakdowns(ids), stats.live_call_counts(ids)
    for c in campaigns:
        c.stats, c.live_calls = breakdowns[c.pk], live_counts.get(c.pk, 0)
    ctx = {"campaigns": campaigns, "import_url": _url_or_none("import-list")}
    return render(request, "campaigns/campaign_list.html", ctx)


def _account_numbers() -> tuple[list[dict], str]:
    """The Twilio account's numbers for the caller-ID pool field, or why they are missing."""
    try:
        return twilio_client.account_numbers(), ""
    except (TwilioException, RequestException) as error:
        logger.warning("Could not list the account's numbers: %s", error)
        return [], ("Could not fetch the Twilio account's numbers, so only the pool's own numbers are "
                    f"listed: {getattr(error, 'msg', None) or error.__class__.__name__}.")


def _campaign_form(request, campaign: Campaign | None, done: str):
    numbers, numbers_problem = _account_numbers()
    form = CampaignSettingsForm(request.POST or None, instance=campaign, account_numbers=numbers)
    if request.method == "POST" and form.is_valid():
        created = campaign is None
        with transaction.atomic():
            campaign = form.save()
            caller_ids.set_pool(campaign, form.pool())
            if created:
                lifecycle.created(campaign, user=request.user)
            else:
                live_figures.publish_settings(campaign)
        messages.success(request, done.format(name=campaign.name))
        return redirect("campaign-detail", campaign.pk)
    ctx = {"form": form, "campaign": campaign, "numbers_problem": numbers_problem}
    return render(request, "campaigns/campaign_form.html", ctx)


@staff_required
def campaign_create(request):
    return _campaign_form(request, None, "Campaign “{name}” created. Add contacts, then start it.")


@staff_required
def campaign_edit(request, campaign_id):
    return _campaign_form(request, _get_campaign(campaign_id), "Campaign settings saved. New calls use them.")


@require_POST
@staff_required
def caller_number_reinstate(request, campaign_id, number_id):
    """A refused caller ID back into the rotation, once the account can use it again."""
    number = get_object_or_404(CallerNumber, pk=number_id, campaign_id=campaign_id)
    caller_ids.reinstate(number)
    messages.success(request, f"{number.phone_number} is back in the caller-ID rotation.")
    return redirect("campaign-detail", campaign_id)


def _lead_filters(params, campaign: Campaign, breakdown: dict):
    """The leads table's queryset for ?state=&outcome=&q=, and its size when cheaply known
    (from the grouped counts; a name search is not counted)."""
    state = params.get("state", "") if params.get("state") in Lead.State.values else ""
    outcome = params.get("outcome", "")
    outcome = outcome if outcome in Disposition.values or outcome == "none" else ""
    leads = campaign.leads.select_related("customer")
    if state:
        leads = leads.filter(state=state)
    if outcome:
        leads = leads.filter(last_outcome="" if outcome == "none" else outcome)
    term = params.get("q", "").strip()
    if term:
        digits = "".join(ch for ch in term if ch.isdigit())
        match = Q(customer__first_name__icontains=term) | Q(customer__last_name__icontains=term)
        if digits:
            match |= Q(customer__phone__contains=digits)
        return leads.filter(match), None
    total = sum(
        n for (s, o), n in breakdown["grouped"].items()
        if (not state or s == state) and (not outcome or (o or "none") == outcome)
    )
    return leads, total


@staff_required
def campaign_detail(request, campaign_id):
    campaign = _get_campaign(campaign_id)
    breakdown = lead_stats.lead_breakdowns([campaign.pk])[campaign.pk]
    leads, lead_count = _lead_filters(request.GET, campaign, breakdown)
    page = keyset_page(stats.leads_last_call(leads), request.GET, LEADS_PER_PAGE)
    ctx = {
        "campaign": campaign,
        "stats": breakdown,
        "transfers": lead_stats.transfer_figures(campaign),
        "live_calls": [stats.board_payload(c) for c in stats.live_calls(campaign)],
        "recent_calls": live_figures.recent_calls(campaign),
        "timeline": live_figures.timeline(campaign.pk),
        "chart": {"hourly": stats.calls_per_hour(campaign), "outcomes": breakdown["outcomes"]},
        "page": page,
        "lead_count": lead_count,
        "states": Lead.State.choices,
        "outcomes": Disposition.choices,
        "problems": live_figures.problems(campaign),
        "caller_numbers": campaign.caller_numbers.all(),
        "caller_id_day": caller_ids.cap_day(campaign, timezone.now()),
        # Why a running campaign dials nothing though it may: no web process to take the calls.
        "held": live_figures.held(campaign),
        "export_url": _url_or_none("campaign-export", campaign.pk),
        "import_url": _url_or_none("import-list", query=f"?campaign={campaign.pk}"),
        "test_leads": try_bot.lead_choices(campaign),
        "test_calls": Call.objects.filter(campaign=campaign).exclude(test="")[:TEST_CALLS_SHOWN],
    }
    return render(request, "campaigns/campaign_detail.html", ctx)


@staff_required
def campaign_board(request, campaign_id):
    """The live board as JSON: what a page that lost its socket catches up from. With
    ?leads=4,5,6 (the rows the page shows) also the figures and timeline the socket would have sent."""
    campaign = _get_campaign(campaign_id)
    board = {
        "campaign": stats.campaign_summary(campaign),
        "calls": [stats.board_payload(c) for c in stats.live_calls(campaign)],
    }
    if "leads" in request.GET:
        lead_ids = [int(i) for i in request.GET["leads"].split(",") if i.isdigit()][:LEADS_PER_PAGE]
        board["figures"] = live_figures.figures(campaign.pk, lead_ids)
        board["timeline_html"] = live_figures.timeline_html(campaign.pk)
    return JsonResponse(board)


def _transition(request, campaign: Campaign, move, done: str, *args) -> None:
    try:
        move(campaign, *args, user=request.user)
    except lifecycle.TransitionError as e:
        messages.error(request, str(e))
        return
    messages.success(request, done.format(status=campaign.get_status_display().lower()))


@require_POST
@staff_required
def campaign_start(request, campaign_id):
    campaign = _get_campaign(campaign_id)
    _transition(request, campaign, lifecycle.start, "Campaign is now {status}.")
    return redirect("campaign-detail", campaign.pk)


@require_POST
@staff_required
def campaign_pause(request, campaign_id):
    campaign = _get_campaign(campaign_id)
    form = ReasonForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    reason = reason or f"Paused by {request.user.get_username()}."
    _transition(request, campaign, lifecycle.pause, "Campaign paused. Calls in progress finish.", reason)
    return redirect("campaign-detail", campaign.pk)


@require_POST
@staff_required
def campaign_resume(request, campaign_id):
    campaign = _get_campaign(campaign_id)
    _transition(request, campaign, lifecycle.resume, "Campaign resumed.")
    return redirect("campaign-detail", campaign.pk)


@require_POST
@staff_required
def campaign_cancel(request, campaign_id):
    campaign = _get_campaign(campaign_id)
    _transition(request, campaign, lifecycle.cancel, "Campaign cancelled. Calls in progress finish.")
    return redirect("campaign-detail", campaign.pk)


