"""Placing outbound calls: claim due leads, dial them paced, and reconcile what a dead
worker left behind. A lead is dialled at most once per attempt and none is stranded.

- Claiming is one short transaction: due leads are locked with SKIP LOCKED (many workers
  share the work without double claims), move to DIALING with the attempt counted, and
  get their Call row — all or nothing.
- Dialling sets Call.dial_requested_at with a conditional UPDATE just before the REST
  request, so a redelivered task never asks Twilio twice for the same attempt.
- The reaper settles what is left unknown: a dial whose worker died before the CallSid
  came back is found again in Twilio's call list (or its status callbacks, which carry
  our call id), and a live call whose final callback never came is fetched."""

import contextlib
import logging
from datetime import datetime, timedelta
from email.utils import format_datetime

import redis
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, Q, Subquery
from django.db.models.functions import Greatest
from django.urls import reverse
from django.utils import timezone
from kombu.exceptions import OperationalError
from requests import RequestException
from twilio.base.exceptions import TwilioException, TwilioRestException

from calls import live, status
from calls.models import Call
from calls.twilio_auth import with_retries
from calls.twilio_client import twilio_client
from calls.twiml import connect_to_bot
from campaigns import calling_window, dialing, do_not_call, lifecycle
from campaigns.models import Campaign, Customer, DoNotCall, Lead
from campaigns.pacing import account_pacer
from campaigns.twilio_errors import DialError, explain
from campaigns.webhooks import events as webhook_events

logger = logging.getLogger(__name__)

# One claim transaction stays short however large the campaign: concurrency caps it lower.
CLAIM_BATCH_MAX = 50
TWIML_INLINE_LIMIT = 4000  # Twilio refuses longer inline Twiml; longer goes through a Url.
PACER_WAIT_SECONDS = 30
# A dial that has waited this long for a calls-per-second token (other campaigns, a backlog)
# is given back: its lead is dialled later instead of holding a concurrency slot for ever.
TOKEN_PATIENCE = timedelta(minutes=5)
TRANSIENT_RETRY = timedelta(seconds=30)
# How long a dial may go unconfirmed before the reaper looks into it (a worker mid-request is
# given that long), and how long past its ring timeout, or since its media stream last showed
# life, a live call may stay silent before it is fetched from Twilio (settings.py says more).
UNKNOWN_DIAL_GRACE = timedelta(seconds=settings.DIAL_GRACE_SECONDS)
RECONCILE_MARGIN = timedelta(seconds=settings.RECONCILE_MARGIN_SECONDS)
STATUS_EVENTS = ["initiated", "ringing", "answered", "completed"]


DUE_STATES = [Lead.State.PENDING, Lead.State.RETRY]
# Leads whose zone is not known yet, resolved per tick: enough for a small list dialled
# while it is imported; the resolve_lead_zones task does big lists in bulk.
RESOLVE_PER_TICK = 50
RESOLVE_PER_TASK = 20_000

# Every distinct zone among a campaign's callable leads, by a loose index scan: one probe
# of lead_zone_due_idx per zone instead of a read of every lead.
CAMPAIGN_ZONES_SQL = """
WITH RECURSIVE zones(timezone) AS (
    SELECT MIN(timezone) FROM campaigns_lead WHERE campaign_id = %s AND state IN ('pending', 'retry')
  UNION ALL
    SELECT (SELECT MIN(timezone) FROM campaigns_lead
            WHERE campaign_id = %s AND state IN ('pending', 'retry') AND timezone > zones.timezone)
    FROM zones WHERE zones.timezone IS NOT NULL
)
SELECT timezone FROM zones WHERE timezone IS NOT NULL
"""  # the states are DUE_STATES, and must match lead_zone_due_idx's condition


def campaign_zones(campaign: Campaign) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(CAMPAIGN_ZONES_SQL, [campaign.pk, campaign.pk])
        return [zone for (zone,) in cursor.fetchall()]


def due_leads(campaign: Campaign, zone: str, now: datetime):
    """One zone's leads the campaign may dial now, oldest due first (lead_zone_due_idx)."""
    return (
        Lead.objects.filter(campaign=campaign, state__in=DUE_STATES, timezone=zone, next_attempt_at__lte=now)
        .filter(Q(attempts__lt=campaign.max_attempts) | Q(callback_at__isnull=False))
        .exclude(Exists(DoNotCall.objects.filter(phone=OuterRef("customer__phone"))))
        .order_by("next_attempt_at", "id")
    )


def resolve_zones(campaign: Campaign, limit: int, *, in_bulk: bool = False) -> int:
    """Give up to `limit` callable leads without a zone theirs; returns how many.

    In bulk (the periodic task), leads whose contact has a zone take it in one statement
    first; a tick only looks up a few hundred one by one, cheaply, by the same rule."""
    blank = Lead.objects.filter(campaign=campaign, state__in=DUE_STATES, timezone="").order_by()
    resolved = 0
    if in_bulk:
        from_contacts = Customer.objects.filter(pk=OuterRef("customer_id")).exclude(timezone="").order_by()
        resolved = Lead.objects.filter(
            pk__in=blank.filter(Exists(from_contacts)).values("pk")[:limit]
        ).update(timezone=Subquery(from_contacts.values("timezone")[:1]))
    rest = list(blank.select_related("customer")[: max(limit - resolved, 0)])
    for lead in rest:
        lead.timezone = calling_window.customer_zone(lead.customer, campaign)
    Lead.objects.bulk_update(rest, ["timezone"], batch_size=1000)
    return resolved + len(rest)


def outbound_parameters(customer: Customer, campaign: Campaign | None, extra: dict) -> dict[str, str]:
    """The <Parameter>s for the bot (connect_to_bot adds our call id): the contact list's own
    columns (`extra`) first, so they can never shadow ours."""
    parameters = {name: str(value) for name, value in extra.items()}
    parameters |= {
        "call_type": "outbound",
        "caller_id": customer.phone,
        "customer_id": str(customer.pk),
        "customer_name": customer.full_name,
        "first_name": customer.first_name,
        "session_type": "sales" if campaign else "general",
    }
    if campaign:
        parameters["campaign_id"] = campaign.slug or str(campaign.pk)
    return parameters


def live_call_count(campaign: Campaign) -> int:
    return Call.objects.filter(campaign=campaign, status__in=Call.LIVE_STATUSES).count()


def claim_due_leads(campaign_id: int, now: datetime | None = None) -> list[int]:
    """Claim as many due leads as the campaign's concurrency allows; return their Call ids."""
    now = now or timezone.now()
    campaign = Campaign.objects.get(pk=campaign_id)
    if campaign.status != Campaign.Status.RUNNING:
        return []
    if campaign.ends_at and now >= campaign.ends_at:
        lifecycle.complete_at_end_date(campaign)
        return []
    # A quick look first, so a full campaign costs two reads; the count that decides is
    # taken again below, under the campaign's lock.
    if live_call_count(campaign) >= campaign.max_concurrent_calls:
        return []
    zones = campaign_zones(campaign)
    if "" in zones:
        resolve_zones(campaign, RESOLVE_PER_TICK)
        zones = campaign_zones(campaign)
    open_zones = [zone for zone in zones if zone and calling_window.is_open(zone, campaign, now)]
    if not open_zones:
        return []
    with transaction.atomic():
        # One claim per campaign at a time: the live calls are counted after the last
        # claimer committed, so dispatchers running at once never exceed the cap together.
        # The same lock makes a pause or cancel wait for the claim, or be seen by it.
        campaign = Campaign.objects.select_for_update(no_key=True).get(pk=campaign_id)
        room = min(campaign.max_concurrent_calls - live_call_count(campaign), CLAIM_BATCH_MAX)
        if campaign.status != Campaign.Status.RUNNING or room <= 0:
            return []
        # The oldest due across the open zones, read from the index alone; then only those
        # rows are locked and loaded. One a worker claimed meanwhile is skipped (locked) or
        # no longer due (committed), so it is never claimed twice.
        picks = sorted(
            pick for zone in open_zones
            for pick in due_leads(campaign, zone, now).values_list("next_attempt_at", "pk")[:room]
        )[:room]
        oldest = list(
            Lead.objects.filter(pk__in=[pk for _, pk in picks], state__in=DUE_STATES)
            .select_related("customer")
            .select_for_update(skip_locked=True, of=("self",))
            .order_by("next_attempt_at", "id")
        )
        leads = _still_in_window(oldest, campaign, now)
        calls = _claim(leads, campaign, now)
    return [call.pk for call in calls]


def _still_in_window(leads: list[Lead], campaign: Campaign, now: datetime) -> list[Lead]:
    """The contact's zone is the truth (a re-import may have corrected it since the lead's
    copy was made): follow it, and hold back anyone whose real window is closed."""
    moved = []
    for lead in leads:
        zone = calling_window.customer_zone(lead.customer, campaign)
        if zone != lead.timezone:
            lead.timezone = zone
            moved.append(lead)
    Lead.objects.bulk_update(moved, ["timezone"])
    return [lead for lead in leads if calling_window.is_open(lead.timezone, campaign, now)]


def _claim(leads: list[Lead], campaign: Campaign, now: datetime) -> list[Call]:
    """Count the attempt on each lead and create its Call row: two statements in all."""
    Lead.objects.filter(pk__in=[lead.pk for lead in leads]).update(
        state=Lead.State.DIALING, claimed_at=now, updated_at=now, attempts=F("attempts") + 1,
        last_outcome="", last_error="", callback_at=None,  # the new attempt's verdict starts empty
    )
    for lead in leads:  # the rows are locked: memory and database agree
        lead.attempts += 1
    calls = Call.objects.bulk_create([
        Call(direction=Call.Direction.OUTBOUND, campaign=campaign, customer=lead.customer, lead=lead,
             attempt=lead.attempts, from_number=campaign.caller_id, to_number=lead.customer.phone,
             parameters=outbound_parameters(lead.customer, campaign, lead.parameters))
        for lead in leads
    ])
    live.publish_new_calls(calls)
    return calls


def place_call(call_id: int, pacer_wait: float | None = None, rest_timeout: float | None = None) -> None:
    """Ask Twilio for the call: at most once, paced to the account's calls per second, and
    only if it may still be made. Raises PacerBusy when no token came within `pacer_wait`
    seconds (PACER_WAIT_SECONDS by default; nothing was dialled), unless the call has waited
    TOKEN_PATIENCE already: then it is given back."""
    call = Call.objects.select_related("campaign", "lead", "customer").get(pk=call_id)
    if call.call_sid or call.dial_requested_at or call.ended_at:
        return  # already dialled or given up; a redelivered task must not dial again
    listed = DoNotCall.objects.filter(phone=call.to_number).exists()
    if refusal := _refusal(call, timezone.now(), listed):  # no token spent on a call refused anyway
        _refuse(call, refusal)
        return
    if not account_pacer().take(timeout=PACER_WAIT_SECONDS if pacer_wait is None else pacer_wait):
        if timezone.now() - call.created_at < TOKEN_PATIENCE:
            raise PacerBusy(call_id)
        minutes = round(TOKEN_PATIENCE.total_seconds() / 60)
        _refuse(call, f"Not called: no calls-per-second token came for {minutes} minutes (other dials"
                      " took the account's rate); the attempt was given back.")
        return
    if not _mark_dial(call):
        return
    try:
        created = twilio_client(rest_timeout).calls.create(**_create_arguments(call))
    except TwilioRestException as error:
        _dial_failed(call, explain(error.code, error.msg), error.code)
        return
    except (RequestException, TwilioException):
        # The request may or may not have reached Twilio: the reaper finds out.
        logger.exception("Dial outcome unknown", extra={"call_id": call.pk})
        return
    with transaction.atomic():
        Call.objects.filter(pk=call.pk, call_sid__isnull=True).update(call_sid=created.sid)
        if call.lead_id:
            Lead.objects.filter(pk=call.lead_id, state=Lead.State.DIALING).update(state=Lead.State.IN_CALL)


def _mark_dial(call: Call) -> bool:
    """The last look before the REST request, in the transaction that marks the dial: True if
    the dial is marked (and may go out), False if it was refused or is already marked.

    The reads are locked so that nothing they check can change unseen before the mark
    commits: a do-not-call entry for the number, or a pause or cancel of the campaign, that
    is being written now either committed first (and is seen) or waits for the mark. Locks
    in the order record_outcome takes them (lead, number, campaign), so the two never deadlock."""
    with transaction.atomic():
        if call.lead_id:
            call.lead = Lead.objects.select_for_update().get(pk=call.lead_id)
        listed = do_not_call.is_listed_for_dialling(call.to_number)
        if call.campaign_id:
            # FOR SHARE would do (dials need not wait for each other), but the ORM has no
            # such lock; a mark takes a few milliseconds.
            call.campaign = Campaign.objects.select_for_update(no_key=True).get(pk=call.campaign_id)
        now = timezone.now()  # after any wait for the locks
        if refusal := _refusal(call, now, listed):
            _refuse(call, refusal)
            return False
        return bool(Call.objects.filter(pk=call.pk, dial_requested_at__isnull=True, ended_at__isnull=True)
                    .update(dial_requested_at=now))


def _refusal(call: Call, now: datetime, on_do_not_call: bool) -> str:
    """Why the call must not be made now, for the lead's and the call's record; '' if it may."""
    if on_do_not_call:
        return "Not called: the number was put on the do-not-call list before the call was placed."
    if not call.lead_id:
        return ""  # a call placed through the API follows no campaign schedule
    campaign = call.campaign
    if campaign.status != Campaign.Status.RUNNING:
        status = campaign.get_status_display().lower()
        return f"Not called: the campaign was {status} before the call was placed."
    if campaign.ends_at and now >= campaign.ends_at:
        return "Not called: the campaign's end time passed before the call was placed."
    if not calling_window.is_open(call.lead.timezone, campaign, now):
        return "Not called: the calling window closed before the call was placed."
    return ""


def _refuse(call: Call, reason: str) -> None:
    """Give the attempt back with the reason; a cancelled campaign's lead is cancelled, as
    cancel() did to every lead not yet called. Nothing, if a twin of this task (a redelivery)
    has marked the dial or given it up meanwhile."""
    with transaction.atomic():
        if call.lead_id:  # lead, then call: the order _mark_dial locks them in
            Lead.objects.select_for_update().filter(pk=call.lead_id).first()
        pending = Call.objects.select_for_update().filter(
            pk=call.pk, dial_requested_at__isnull=True, ended_at__isnull=True)
        if not pending.exists():
            return
        _abandon(call, reason)
        if call.lead_id and call.campaign.status == Campaign.Status.CANCELLED:
            Lead.objects.filter(pk=call.lead_id, state=Lead.State.RETRY).update(
                state=Lead.State.CANCELLED, next_attempt_at=None
            )


class PacerBusy(Exception):
    """No calls-per-second token in time; the task retries later (nothing was dialled)."""


def _create_arguments(call: Call) -> dict:
    public = settings.PUBLIC_BASE_URL
    # Both callbacks name our call (they can beat the REST answer that tells us its CallSid)
    # and ask Twilio to retry them; the reaper fetches what still gets lost.
    named = f"?call_id={call.pk}"
    arguments = {
        "to": call.to_number,
        "from_": call.from_number,
        "status_callback": with_retries(f"{public}{reverse('twilio-status')}{named}"),
        "status_callback_event": STATUS_EVENTS,
        "status_callback_method": "POST",
        # Twilio ends the call then even if the bot's process died and cannot hang up.
        "time_limit": settings.TWILIO_TIME_LIMIT_SECONDS,
    }
    twiml = connect_to_bot(call)
    if len(twiml) <= TWIML_INLINE_LIMIT:
        arguments["twiml"] = twiml
    else:
        arguments["url"] = f"{public}{reverse('twilio-connect')}?call_id={call.pk}"
    campaign = call.campaign
    if campaign:
        arguments["timeout"] = campaign.ring_timeout_seconds
        if campaign.answering_machine_detection:
            arguments |= {
                "machine_detection": "DetectMessageEnd",
                "async_amd": "true",
                "async_amd_status_callback": with_retries(f"{public}{reverse('twilio-amd')}{named}"),
                "async_amd_status_callback_method": "POST",
            }
    return arguments


def _release_attempt(lead_id: int | None, retry_at: datetime, note: str) -> None:
    """The attempt never reached the phone network: give it back to the lead."""
    if lead_id:
        Lead.objects.filter(pk=lead_id, state__in=[Lead.State.DIALING, Lead.State.IN_CALL]).update(
            state=Lead.State.RETRY, attempts=Greatest(F("attempts") - 1, 0), next_attempt_at=retry_at,
            claimed_at=None, last_error=note, updated_at=timezone.now(),
        )


def _close_call(call: Call, code: str, message: str) -> None:
    Call.objects.filter(pk=call.pk).update(
        status=Call.Status.FAILED, ended_at=timezone.now(), error_code=code, error_message=message
    )
    call.refresh_from_db()
    live.publish_call(call)


def _abandon(call: Call, reason: str) -> None:
    with transaction.atomic():
        _close_call(call, "", reason)
        _release_attempt(call.lead_id, timezone.now(), reason)


def _dial_failed(call: Call, error: DialError, code: int | None) -> None:
    logger.warning("Twilio refused a dial: %s", error.message, extra={"call_id": call.pk, "code": code})
    with transaction.atomic():
        _close_call(call, str(code or ""), error.message)
        if error.transient or error.account_level:
            _release_attempt(call.lead_id, timezone.now() + TRANSIENT_RETRY, error.message)
        elif call.lead_id:
            Lead.objects.filter(pk=call.lead_id).update(
                state=Lead.State.FAILED, last_error=error.message, claimed_at=None,
                next_attempt_at=None, updated_at=timezone.now(),
            )
            webhook_events.lead_failed(call.lead_id)
        if error.account_level and call.campaign:
            _pause_for(call.campaign, error.message)
    if call.campaign and not error.account_level:
        lifecycle.complete_if_finished(call.campaign)


def _pause_for(campaign: Campaign, reason: str) -> None:
    # Already paused or stopped by someone else: nothing more to do.
    with contextlib.suppress(lifecycle.TransitionError):
        lifecycle.pause(campaign, reason)


# --- The reaper ---------------------------------------------------------------------


def reap(now: datetime | None = None) -> dict[str, int]:
    """Settle every dial whose outcome a dead worker or a lost callback left unknown."""
    now = now or timezone.now()
    counts = {"requeued": 0, "reconciled": 0, "released": 0, "fetched": 0, "settled": 0}
    stale = now - UNKNOWN_DIAL_GRACE
    never_sent = Call.objects.filter(
        call_sid__isnull=True, dial_requested_at__isnull=True, ended_at__isnull=True,
        created_at__lt=stale, direction=Call.Direction.OUTBOUND,
    )
    from campaigns.tasks import place_call as place_call_task  # tasks.py imports this module

    for call_id in never_sent.values_list("pk", flat=True):
        place_call_task.delay(call_id)
        counts["requeued"] += 1
    unknown = Call.objects.filter(call_sid__isnull=True, dial_requested_at__lt=stale, ended_at__isnull=True)
    for call in unknown.select_related("lead"):
        counts["reconciled" if _find_placed_call(call) else "released"] += 1
    # Live calls are few (the campaigns' concurrency caps them), so each is judged in Python.
    live_calls = Call.objects.filter(call_sid__isnull=False, status__in=Call.LIVE_STATUSES)
    for call in live_calls.select_related("campaign"):
        if call.needs_fetching(now, RECONCILE_MARGIN):
            _fetch_final_status(call)
            counts["fetched"] += 1
    # A final call whose lead still waits on it: whoever applied the final status died
    # before settling it.
    unsettled = Call.objects.filter(
        status__in=Call.FINAL_STATUSES, ended_at__lt=stale,
        lead__state__in=dialing.IN_FLIGHT, lead__attempts=F("attempt"),
    )
    unsettled_ids = list(unsettled.values_list("pk", flat=True))
    dialing.settle_calls(unsettled_ids)
    counts["settled"] = len(unsettled_ids)
    return counts


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
        _abandon(call, "The dial was interrupted before it reached Twilio; the lead will be called again.")
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


# --- One call now (the dial-out API) -------------------------------------------------
# The API answers within 2 s either way: it waits a moment for a token and for Twilio, and
# otherwise leaves the call to a worker (a Twilio request cut short by the timeout is the
# reaper's to reconcile, like any dial whose answer was lost). The REST timeout bounds the
# connect and the read each: 0.4 + 2 x 0.75 = 1.9 s at worst.
API_PACER_WAIT_SECONDS = 0.4
API_REST_TIMEOUT_SECONDS = 0.75


def new_call(customer: Customer, campaign: Campaign | None, from_number: str, parameters: dict) -> Call:
    """A call outside any lead's schedule, not placed yet (call_now places it)."""
    return Call.objects.create(
        direction=Call.Direction.OUTBOUND, campaign=campaign, customer=customer,
        from_number=from_number, to_number=customer.phone,
        parameters=outbound_parameters(customer, campaign, parameters),
    )


def call_now(call: Call) -> Call:
    """Place the call now if the account's calls per second allow it within a moment, else
    queue it for a worker, which places it as soon as a token is free; paced with every
    other dial either way. Returns the call as it stands."""
    from campaigns.tasks import place_call as place_call_task  # tasks.py imports this module

    try:
        try:
            place_call(call.pk, pacer_wait=API_PACER_WAIT_SECONDS, rest_timeout=API_REST_TIMEOUT_SECONDS)
        except PacerBusy:  # the CPS is taken: a worker waits for the token, not this request
            place_call_task.delay(call.pk)
    except (redis.RedisError, OperationalError):
        # Neither pacer nor broker answers: the call stays queued, and the reaper sends calls
        # never sent once Redis is back. The client still hears that it is queued, not a 500.
        logger.warning("Redis is unreachable: call %s waits for the reaper", call.pk, exc_info=True)
    call.refresh_from_db()
    return call
