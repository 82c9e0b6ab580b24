"""The reaper settles what a dead worker or a lost callback left unknown: a dial whose
worker died before the CallSid came back is found again in Twilio's call list (or its status
callbacks, which carry our call id), a live call whose final callback never came is fetched,
a final call whose lead still waits on it is settled, and a call whose bot session died
before storing its summary is ended (call.ended). Calls never sent at all are returned for
the caller (the reap_dials task) to send again."""

import logging
from datetime import datetime, timedelta
from email.utils import format_datetime

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from requests import RequestException
from twilio.base.exceptions import TwilioException, TwilioRestException

from calls import events as call_events
from calls import live, status, transfers
from calls.dialer import placing, settling
from calls.models import NO_SUMMARY, Call
from calls.twilio_client import twilio_client
from campaigns.models import Lead

logger = logging.getLogger(__name__)

# How long a dial may go unconfirmed before the reaper looks into it (a worker mid-request is
# given that long), and how long past its ring timeout, or since its media stream last showed
# life, a live call may stay silent before it is fetched from Twilio (settings.py says more).
UNKNOWN_DIAL_GRACE = timedelta(seconds=settings.DIAL_GRACE_SECONDS)
RECONCILE_MARGIN = timedelta(seconds=settings.RECONCILE_MARGIN_SECONDS)


class Reaped(dict):
    """How many calls the reaper found of each kind, by name; `requeue` holds the ids of the
    calls never sent, for the caller to send again (counted as "requeued")."""

    def __init__(self, requeue: list[int], **counts: int):
        super().__init__(requeued=len(requeue), **counts)
        self.requeue = requeue


def reap(now: datetime | None = None) -> Reaped:
    """Settle every dial whose outcome a dead worker or a lost callback left unknown; return
    what was found, with the calls never sent for the caller to send again."""
    now = now or timezone.now()
    counts = {"reconciled": 0, "released": 0, "fetched": 0, "settled": 0, "transfers": 0}
    stale = now - UNKNOWN_DIAL_GRACE
    never_sent = list(Call.objects.filter(
        call_sid__isnull=True, dial_requested_at__isnull=True, ended_at__isnull=True,
        created_at__lt=stale, direction=Call.Direction.OUTBOUND,
    ).values_list("pk", flat=True))
    unknown = Call.objects.filter(call_sid__isnull=True, dial_requested_at__lt=stale, ended_at__isnull=True)
    for call in unknown.select_related("lead"):
        counts["reconciled" if _find_placed_call(call) else "released"] += 1
    # Live calls are few (the campaigns' concurrency caps them), so each is judged in Python.
    for call in Call.objects.live().filter(call_sid__isnull=False).select_related("campaign"):
        if call.needs_fetching(now, RECONCILE_MARGIN):
            _fetch_final_status(call)
            counts["fetched"] += 1
    # A final call whose lead still waits on it: whoever applied the final status died
    # before settling it.
    unsettled = Call.objects.final().filter(
        ended_at__lt=stale, lead__state__in=Lead.IN_FLIGHT_STATES, lead__attempts=F("attempt"),
    )
    unsettled_ids = list(unsettled.values_list("pk", flat=True))
    settling.settle_calls(unsettled_ids)
    counts["settled"] = len(unsettled_ids)
    # A hand-off still ringing past its agent's ring timeout: its callbacks were lost.
    counts["transfers"] = transfers.reconcile(now)
    _end_without_summary(stale)
    return Reaped(never_sent, **counts)


def _end_without_summary(stale: datetime) -> None:
    """A call the bot spoke on waits for its session's summary before call.ended is sent;
    a session that died first (its process killed) never writes one. Once the call has been
    over for the grace, the call is ended with what was stored."""
    for call_id in Call.objects.without_summary().filter(ended_at__lt=stale).values_list("pk", flat=True):
        with transaction.atomic():  # locked, as finish_call does: a late session waits, or wins
            call = (Call.objects.without_summary().select_for_update(of=("self",))
                    .select_related("customer", "campaign").filter(pk=call_id).first())
            if call is None:
                continue  # the session stored its summary meanwhile
            logger.warning("Call %s ended without its session's summary", call.pk, extra={"call_id": call.pk})
            call.summary = NO_SUMMARY
            call.save(update_fields=["summary"])
            call_events.call_ended_if_ready(call)
            live.publish_call(call)


def _find_placed_call(call: Call) -> bool:
    """Look for the call in Twilio's list; link it if it is there, else give the attempt back."""
    since = call.dial_requested_at - timedelta(seconds=5)
    try:
        placed = twilio_client().calls.list(to=call.to_number, from_=call.from_number, limit=50)
    except (TwilioException, RequestException):
        logger.exception("Could not list calls to reconcile", extra={"call_id": call.pk})
        return False
    linked = set(Call.objects.exclude(call_sid=None).filter(
        call_sid__in=[p.sid for p in placed]).values_list("call_sid", flat=True))
    match = next((p for p in placed if p.sid not in linked and p.to == call.to_number
                  and p.date_created and p.date_created >= since), None)
    if match is None:
        placing.abandon(call, "The dial was interrupted before it reached Twilio;"
                              " the lead will be called again.")
        return False
    with transaction.atomic():
        Call.objects.filter(pk=call.pk, call_sid__isnull=True).update(call_sid=match.sid)
        if call.lead_id:
            Lead.objects.filter(pk=call.lead_id, state=Lead.State.DIALING).update(state=Lead.State.IN_CALL)
    _apply_fetched(match)
    return True


def _fetch_final_status(call: Call) -> None:
    """Ask Twilio where a silent call stands (its final status callback may be lost) and apply
    the answer like the callback it stands in for."""
    try:
        _apply_fetched(twilio_client().calls(call.call_sid).fetch())
    except TwilioRestException as error:
        if error.code != 20404:
            logger.warning("Could not fetch call %s: %s", call.call_sid, error.msg)
            return
        # Twilio never heard of the call (or no longer keeps it): nothing was billed or
        # happened that we know of, so the call failed and its lead is settled as such.
        status.apply_status_callbacks([status.StatusCallback(
            {"CallSid": call.call_sid, "CallStatus": Call.Status.FAILED, "ErrorCode": "20404",
             "ErrorMessage": "Twilio has no record of this call."},
            {"source": "reaper: unknown to Twilio"},
        )])
    except (TwilioException, RequestException) as error:
        logger.warning("Could not fetch call %s: %s", call.call_sid, error)


def _apply_fetched(resource) -> None:
    """A fetched Call resource applied like the status callback it stands in for: Twilio's
    status, duration, answered_by and price, and its own times rather than ours."""
    final = resource.status in Call.FINAL_STATUSES
    moment = resource.end_time if final else resource.start_time
    params = {"CallSid": resource.sid, "CallStatus": resource.status,
              "CallDuration": int(resource.duration) if resource.duration else None,
              "AnsweredBy": resource.answered_by or "",
              "Timestamp": format_datetime(moment) if moment else None,
              "Price": resource.price, "PriceUnit": resource.price_unit or ""}
    status.apply_status_callbacks([status.StatusCallback(params, {"source": "reaper: fetched from Twilio", **{
        k: str(v) for k, v in params.items() if v is not None}})])

