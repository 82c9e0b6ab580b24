"""The circuit breaker: a campaign whose recent calls mostly fail pauses itself, saying why
and which calls failed, before it burns through its list (a broken bot, a dead number
range, Twilio refusing every call).

Judged are the campaign's calls placed within its window (`breaker_window_seconds`, and
none before it last started or resumed, so a resumed campaign starts afresh) that have
ended and were asked of Twilio. Failed among them: a REST error (but one whose attempt
is placed again: a rate limit, a pool's refused caller ID), Twilio's `failed`, an
answered call whose media stream never connected, a bot session that errored. Busy and
no-answer are the callee's doing, not a failure. Checked whenever such an ending is
recorded: a status callback batch, a dial error, a bot session's end."""

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db.models import Count, Max, Q
from django.utils import timezone

from calls.dialer.twilio_errors import CALLER_ID_REFUSED, KNOWN
from calls.models import Call
from campaigns import lifecycle
from campaigns.models import Campaign, CampaignEvent

logger = logging.getLogger(__name__)

FAILING_CALLS_KEPT = 20  # linked from the timeline; enough to see the pattern
# REST errors whose attempt is placed again (rate limits, a caller-ID pool number refused
# and dropped): the attempt's own outcome comes later, on another call.
RETRIED_CODES = sorted({str(code) for code, error in KNOWN.items() if error.transient}
                       | {str(code) for code in CALLER_ID_REFUSED})
REST_ERROR = Q(call_sid__isnull=True) & ~Q(error_code="") & ~Q(error_code__in=RETRIED_CODES)

# Each kind of failure, named for the pause reason.
FAILURES = {
    "Twilio refused the dial": REST_ERROR,
    "failed": Q(call_sid__isnull=False, status=Call.Status.FAILED),
    "never connected its audio": Q(status=Call.Status.COMPLETED, stream_sid="")
    & (Q(answered_at__isnull=False) | Q(duration_seconds__gt=0)),
    "the bot failed": Q(metrics__session_failed=True),
}
FAILED = Q()
for _condition in FAILURES.values():
    FAILED |= _condition
# Asked of Twilio (a CallSid, or a REST error): a dial refused before it went out is not judged.
JUDGED = Q(status__in=Call.FINAL_STATUSES) & (Q(call_sid__isnull=False) | REST_ERROR)
RESTARTS = [CampaignEvent.Kind.STARTED, CampaignEvent.Kind.RESUMED, CampaignEvent.Kind.REOPENED]


def judged_calls(campaign: Campaign, now: datetime):
    since = now - timedelta(seconds=campaign.breaker_window_seconds)
    restarted = campaign.events.filter(kind__in=RESTARTS).aggregate(at=Max("at"))["at"]
    if restarted and restarted > since:
        since = restarted
    # created_at: the range call_campaign_recent_idx serves, however many calls the campaign has.
    return Call.objects.counted().filter(campaign=campaign, created_at__gte=since).filter(JUDGED)


def check(campaign_id: int | None, now: datetime | None = None) -> bool:
    """Pause the campaign if its recent calls failed too often; True if this call paused it."""
    campaign = Campaign.objects.filter(pk=campaign_id, status=Campaign.Status.RUNNING,
                                       breaker_enabled=True).first()
    if campaign is None:
        return False
    calls = judged_calls(campaign, now or timezone.now())
    counts = calls.aggregate(total=Count("pk"), failed=Count("pk", filter=FAILED),
                             **{f"kind{i}": Count("pk", filter=q) for i, q in enumerate(FAILURES.values())})
    total, failed = counts["total"], counts["failed"]
    if total < campaign.breaker_min_calls or failed * 100 < campaign.breaker_threshold_percent * total:
        return False
    kinds = ", ".join(f"{counts[f'kind{i}']} {name}" for i, name in enumerate(FAILURES) if counts[f"kind{i}"])
    minutes = campaign.breaker_window_seconds / 60
    reason = (f"Paused by the circuit breaker: {failed} of the {total} calls of the last {minutes:g} "
              f"minutes failed ({round(100 * failed / total)} %, the limit is "
              f"{campaign.breaker_threshold_percent} %): {kinds}.")
    failing = calls.filter(FAILED).order_by("-created_at").values_list("pk", flat=True)
    failing = list(failing[:FAILING_CALLS_KEPT])
    try:
        lifecycle.pause(campaign, reason, by=lifecycle.By.BREAKER, call_ids=failing)
    except lifecycle.TransitionError:
        return False  # paused or stopped meanwhile (another batch's check, a person)
    logger.warning("Campaign %s paused by the circuit breaker: %s", campaign.pk, reason)
    return True


def check_campaigns(campaign_ids: Iterable[int | None]) -> None:
    """After calls ended: judge each of their campaigns. A failure here must not undo what
    was recorded, so it is logged; the next ending judges again."""
    for campaign_id in sorted({pk for pk in campaign_ids if pk}):
        try:
            check(campaign_id)
        except Exception:
            logger.exception("The circuit breaker could not judge campaign %s", campaign_id)
