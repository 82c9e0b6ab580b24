"""The figures the dashboard shows for a campaign, each from one indexed, grouped query so
a page costs the same with a hundred leads or a hundred thousand. The leads' own figures
are campaigns.stats's, which the API's stats share."""

from datetime import timedelta

from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import TruncHour

from calls.live import call_payload
from calls.models import ANSWERED_BY_PERSON, Call, TranscriptLine
from campaigns.models import Campaign
from campaigns.stats import lead_breakdowns

CHART_HOURS = 24


def live_call_counts(campaign_ids: list[int]) -> dict[int, int]:
    rows = (
        Call.objects.counted().live().filter(campaign_id__in=campaign_ids)
        .values("campaign_id").annotate(n=Count("id")).order_by()
    )
    return {row["campaign_id"]: row["n"] for row in rows}


def campaign_summary(campaign: Campaign) -> dict:
    """What campaign.update carries and the board's catch-up returns: JSON-ready."""
    b = lead_breakdowns([campaign.pk])[campaign.pk]
    return {
        "id": campaign.pk,
        "status": campaign.status,
        "status_display": campaign.get_status_display(),
        "status_reason": campaign.status_reason,
        "lead_total": b["total"],
        "lead_done": b["done"],
        "percent_done": b["percent_done"],
        "answer_rate": b["answer_rate"],
        "outcomes": b["outcomes"],
        "live_calls": live_call_counts([campaign.pk]).get(campaign.pk, 0),
    }


def with_last_line(calls):
    """Annotate each call with its latest transcript line (one index probe per call)."""
    latest = TranscriptLine.objects.filter(call=OuterRef("pk")).order_by("-offset_ms", "-id")
    return calls.annotate(
        last_line_text=Subquery(latest.values("text")[:1]),
        last_line_speaker=Subquery(latest.values("speaker")[:1]),
        last_line_id=Subquery(latest.values("id")[:1]),
    )


def live_calls(campaign: Campaign):
    calls = Call.objects.counted().live().filter(campaign=campaign).select_related("customer")
    return with_last_line(calls).order_by("created_at", "id")


def board_payload(call: Call) -> dict:
    """call_payload plus what the board shows beside it."""
    payload = call_payload(call)
    payload["created_at"] = call.created_at.isoformat()
    payload["last_line"] = (
        {"id": call.last_line_id, "speaker": call.last_line_speaker, "text": call.last_line_text}
        if getattr(call, "last_line_id", None) else None
    )
    return payload


def calls_per_hour(campaign: Campaign) -> dict:
    """Calls placed and answered by a person per hour over the campaign's latest 24 hours of
    calling (ending at its latest call, so a finished campaign still shows its last day)."""
    placed = Call.objects.counted().filter(campaign=campaign)
    latest = placed.order_by("-created_at").values("created_at").first()
    if not latest:
        return {"hours": [], "calls": [], "answers": [], "total_calls": 0, "total_answers": 0}
    end = latest["created_at"].replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    start = end - timedelta(hours=CHART_HOURS)
    rows = (
        placed.filter(created_at__gte=start, created_at__lt=end)
        .annotate(hour=TruncHour("created_at"))
        .values("hour")
        .annotate(calls=Count("id"), answers=Count("id", filter=ANSWERED_BY_PERSON))
        .order_by("hour")
    )
    by_hour = {row["hour"]: row for row in rows}
    hours = [start + timedelta(hours=i) for i in range(CHART_HOURS)]
    calls = [by_hour[h]["calls"] if h in by_hour else 0 for h in hours]
    answers = [by_hour[h]["answers"] if h in by_hour else 0 for h in hours]
    return {"hours": [int(h.timestamp()) for h in hours], "calls": calls, "answers": answers,
            "total_calls": sum(calls), "total_answers": sum(answers)}


def leads_last_call(leads):
    """Annotate leads with the id of their latest call (the FK index on calls.lead_id)."""
    latest = Call.objects.filter(lead=OuterRef("pk")).order_by("-created_at", "-id")
    return leads.annotate(last_call_id=Subquery(latest.values("id")[:1]))

