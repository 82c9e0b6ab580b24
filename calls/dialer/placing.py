"""Placing one claimed call: at most once, paced, and only if it may still be made.

Dialling sets Call.dial_requested_at with a conditional UPDATE just before the REST
request, in the transaction that looks at the do-not-call list, the campaign and the
calling window one last time, so a redelivered task never asks Twilio twice for the same
attempt and nothing is dialled that may no longer be. A calls-per-second token admits a dial
to that look, and a second one (calls.dialer.pacing) paces the REST request after it."""

import contextlib
import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.db.models.functions import Greatest
from django.urls import reverse
from django.utils import timezone
from requests import RequestException
from twilio.base.exceptions import TwilioException, TwilioRestException

from calls import breaker, live, metrics
from calls import events as call_events
from calls.dialer.pacing import CallsPerSecond, account_pacer, send_pacer
from calls.dialer.twilio_errors import CALLER_ID_REFUSED, DialError, explain
from calls.models import Call
from calls.twilio_auth import with_retries
from calls.twilio_client import STATUS_EVENTS, twilio_client
from calls.twiml import connect_to_bot
from campaigns import caller_ids, calling_window, lifecycle
from campaigns.models import Campaign, DoNotCall, Lead
from campaigns.webhooks import events as webhook_events

logger = logging.getLogger(__name__)

TWIML_INLINE_LIMIT = 4000  # Twilio refuses longer inline Twiml; longer goes through a Url.
PACER_WAIT_SECONDS = 30
# A dial that has waited this long for a calls-per-second token (other campaigns, a backlog)
# is given back: its lead is dialled later instead of holding a concurrency slot for ever.
TOKEN_PATIENCE = timedelta(minutes=5)
TRANSIENT_RETRY = timedelta(seconds=30)


def place_call(call_id: int, pacer_wait: float | None = None, rest_timeout: float | None = None) -> None:
    """Ask Twilio for the call: at most once, paced to the account's calls per second, and
    only if it may still be made. Raises PacerBusy when no token came within `pacer_wait`
    seconds (PACER_WAIT_SECONDS by default; nothing was dialled), unless the call has waited
    TOKEN_PATIENCE already: then it is given back."""
    call = Call.objects.select_related("campaign", "lead", "customer").get(pk=call_id)
    if call.call_sid or call.dial_requested_at or call.ended_at:
        return  # already dialled or given up; a redelivered task must not dial again
    listed = DoNotCall.objects.listed(call.to_number)
    if refusal := _refusal(call, timezone.now(), listed):  # no token spent on a call refused anyway
        _refuse(call, refusal)
        return
    wait = PACER_WAIT_SECONDS if pacer_wait is None else pacer_wait
    if not _token(account_pacer(), wait):
        if timezone.now() - call.created_at < TOKEN_PATIENCE:
            raise PacerBusy(call_id)
        minutes = round(TOKEN_PATIENCE.total_seconds() / 60)
        _refuse(call, f"Not called: no calls-per-second token came for {minutes} minutes (other dials"
                      " took the account's rate); the attempt was given back.")
        return
    if not _mark_dial(call):
        return
    try:
        created = _paced_create(call, wait, rest_timeout)
    except TwilioRestException as error:
        _dial_failed(call, explain(error.code, error.msg), error.code)
        return
    except (RequestException, TwilioException):
        # The request may or may not have reached Twilio: the reaper finds out.
        logger.exception("Dial outcome unknown", extra={"call_id": call.pk})
        return
    metrics.count_dial(_label(call), placed=True)
    with transaction.atomic():
        Call.objects.filter(pk=call.pk, call_sid__isnull=True).update(call_sid=created.sid)
        if call.lead_id:
            Lead.objects.filter(pk=call.lead_id, state=Lead.State.DIALING).update(state=Lead.State.IN_CALL)


def _token(pacer: CallsPerSecond, timeout: float) -> bool:
    got = pacer.take(timeout=timeout)
    if pacer.waited:
        metrics.count_cps_wait(pacer.waited)
    return got


def _paced_create(call: Call, wait: float, rest_timeout: float | None):
    """The REST request, paced by a token of its own taken last of all. The last look before
    it may have waited for locks with other dials and been released with them; and the SDK
    loads its modules on first use (about a second), so the request is built first."""
    calls = twilio_client(rest_timeout).calls
    arguments = _create_arguments(call)
    if not _token(send_pacer(), wait):
        Call.objects.filter(pk=call.pk, call_sid__isnull=True).update(dial_requested_at=None)
        raise PacerBusy(call.pk)  # not dialled: the retry looks again
    return calls.create(**arguments)


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
        listed = DoNotCall.objects.listed_for_dialling(call.to_number)
        if call.campaign_id:
            # FOR SHARE would do (dials need not wait for each other), but the ORM has no
            # such lock; a mark takes a few milliseconds.
            call.campaign = Campaign.objects.select_for_update(no_key=True).get(pk=call.campaign_id)
        now = timezone.now()  # after any wait for the locks
        if refusal := _refusal(call, now, listed):
            _refuse(call, refusal)
            return False
        if call.lead_id and caller_ids.has_pool(call.campaign):
            number = caller_ids.pick(call.campaign, call.to_number, now)
            if number is None:
                reason, retry_at = caller_ids.unavailable(call.campaign, now) or (
                    "Not called: no caller ID of the pool was free.", None)
                _refuse(call, reason, retry_at or now + TRANSIENT_RETRY)
                return False
            call.from_number = number.phone_number
        marked = bool(Call.objects.filter(pk=call.pk, dial_requested_at__isnull=True, ended_at__isnull=True)
                      .update(dial_requested_at=now, from_number=call.from_number))
        if not marked:
            transaction.set_rollback(True)  # a twin marked it: this pick of a number never happened
        return marked


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
    cap, today = campaign.max_attempts_per_day, calling_window.local_midnight(call.lead.timezone, now)
    if cap and call.lead.calls.dialled_since(today).count() >= cap:
        return f"Not called: the contact's calls today reached the campaign's daily limit ({cap})."
    return ""


def _refuse(call: Call, reason: str, retry_at: datetime | None = None) -> None:
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
        abandon(call, reason, retry_at)
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
        Lead.objects.in_flight().filter(pk=lead_id).update(
            state=Lead.State.RETRY, attempts=Greatest(F("attempts") - 1, 0), next_attempt_at=retry_at,
            claimed_at=None, last_error=note, updated_at=timezone.now(),
        )


def _close_call(call: Call, code: str, message: str) -> None:
    """End a call that never reached the phone network as failed, with why (inside the
    caller's transaction): forward by rank, like every writer of a call's status, and told
    to webhooks as call.ended, once."""
    call.status = Call.objects.select_for_update().values_list("status", flat=True).get(pk=call.pk)
    if call.move_to(Call.Status.FAILED):
        Call.objects.filter(pk=call.pk).update(
            status=call.status, ended_at=timezone.now(), error_code=code, error_message=message
        )
    call.refresh_from_db()
    call_events.call_ended_if_ready(call)
    live.publish_call(call)


def abandon(call: Call, reason: str, retry_at: datetime | None = None) -> None:
    with transaction.atomic():
        _close_call(call, "", reason)
        _release_attempt(call.lead_id, retry_at or timezone.now(), reason)


def _pool_refusal(call: Call, error: DialError, code: int | None) -> DialError:
    """A caller ID Twilio refused leaves the campaign's pool with the reason, and the attempt
    is given back, to be placed from another number; only when none is left does the
    refusal stop the campaign, as it does a campaign with one caller ID."""
    if code not in CALLER_ID_REFUSED or not call.lead_id:
        return error
    left = caller_ids.refuse(call.campaign, call.from_number, f"{error.message} (Twilio error {code})")
    if left is None:  # not a pool number: the campaign's own caller ID
        return error
    if left:
        return DialError(f"Twilio refused the caller ID {call.from_number} ({error.message}); it left the "
                         "pool and the call is placed again from another number.", transient=True)
    return DialError(f"Twilio refused every number of the caller-ID pool, last {call.from_number}: "
                     f"{error.message}", account_level=True)


def _label(call: Call) -> str:
    """The campaign a dial is counted under in the metrics."""
    return (call.campaign.slug or str(call.campaign_id)) if call.campaign_id else ""


def _dial_failed(call: Call, error: DialError, code: int | None) -> None:
    logger.warning("Twilio refused a dial: %s", error.message, extra={"call_id": call.pk, "code": code})
    error = _pool_refusal(call, error, code)
    metrics.count_dial(_label(call), placed=False)
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
        breaker.check_campaigns([call.campaign_id])
        lifecycle.complete_if_finished(call.campaign)


def _pause_for(campaign: Campaign, reason: str) -> None:
    # Already paused or stopped by someone else: nothing more to do.
    with contextlib.suppress(lifecycle.TransitionError):
        lifecycle.pause(campaign, reason, by=lifecycle.By.TWILIO)

