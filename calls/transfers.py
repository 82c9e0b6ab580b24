"""The hand-off of a live call to a person, cold or warm, over Twilio's REST API and TwiML.

Cold: the caller's call is redirected (a REST update with new TwiML) to <Dial><Number>: its
media stream ends (the bot's session finishes, transcript kept), the caller hears ringing,
then the agent, who sees the number the call comes from as caller ID. When the agent's leg
ends, Twilio asks the <Dial>'s action (dial_ended) what comes next: after an agent who
answered, nothing (the call ends); after one who did not, the next target; once every
target was tried, the bot again (<Connect><Stream> with resume=agent_unavailable), which
apologises and offers the callback.

Warm: the agent is dialled as a call of its own (transfer_of: the caller's call) whose bot
session briefs them (role=agent_briefing: who is waiting and why), while the caller waits
in a <Conference> with hold music. Once briefed (agent_briefed), the agent's call is moved
into the conference, which starts it. An agent leg that ends before it joined (no answer,
busy, declined, hung up during the briefing) passes the hand-off on, as above.

Each target rung is a TransferAttempt, written here only; an attempt leaves `ringing` once,
by a conditional UPDATE, so Twilio's repeated or crossing callbacks decide it once."""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models, transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from requests import RequestException
from twilio.base.exceptions import TwilioException, TwilioRestException

from calls import events as call_events
from calls import live, twiml
from calls.dialer import settling
from calls.dialer.pacing import send_pacer
from calls.models import Call, TransferAttempt
from calls.twilio_auth import public_url, with_retries
from calls.twilio_client import STATUS_EVENTS, twilio_client
from campaigns.models import Campaign, Disposition

logger = logging.getLogger(__name__)

# The stream parameter that tells a bot session its caller is back from a hand-off no agent took.
RESUME_AGENT_UNAVAILABLE = "agent_unavailable"
AGENT_BRIEFING = "agent_briefing"
REST_TIMEOUT = 10  # seconds; the bot's session (or a staff page) waits for the redirect
DEFAULT_RING_SECONDS = Campaign._meta.get_field("agent_ring_timeout_secs").default
# The briefing's text travels in the agent leg's inline TwiML (Twilio takes 4,000 characters).
SUMMARY_MAX_CHARS = 1500
CALLER_GONE = "The caller hung up while the agent was rung."


class Refusal(models.TextChoices):
    NONE = "", "Started"
    OUTSIDE_AGENT_HOURS = "outside_agent_hours", "Outside the agents' hours"
    NO_TARGETS = "no_transfer_targets", "The campaign has no transfer targets"
    NOT_LIVE = "not_live", "The call is not live (or is being transferred already)"
    FAILED = "failed", "Twilio refused the transfer"


@dataclass(frozen=True)
class TransferRequest:
    started: bool
    refusal: str = Refusal.NONE
    agents_open_at: datetime | None = None


class TransferFailed(Exception):
    def __init__(self, message: str, refusal: str = Refusal.FAILED):
        super().__init__(message)
        self.refusal = refusal


# <Dial>'s DialCallStatus, and an agent leg's final CallStatus, as the attempt's outcome.
DIAL_OUTCOMES = {
    "completed": TransferAttempt.Status.ANSWERED,
    "answered": TransferAttempt.Status.ANSWERED,
    "busy": TransferAttempt.Status.BUSY,
    "no-answer": TransferAttempt.Status.NO_ANSWER,
    "failed": TransferAttempt.Status.FAILED,
    "canceled": TransferAttempt.Status.CANCELED,
}
DECLINED_SIP_CODES = {"603"}


def request_transfer(call_id: int, *, reason: str, summary: str, requested_by: str = "bot",
                     to_number: str | None = None) -> TransferRequest:
    """Hand a live call to a person: the campaign's targets, in its mode, within its agent
    hours; or `to_number` (a staff member taking over: cold, at any hour)."""
    call = Call.objects.select_related("campaign").filter(pk=call_id).first()
    refused = _refusal(call, to_number)
    if refused is not None:
        return refused
    if to_number:
        targets, mode = [to_number], TransferAttempt.Mode.COLD
    else:
        targets, mode = _ordered_targets(call.campaign), call.campaign.transfer_mode
    attempt = _open_attempt(call, targets, mode, reason=reason, summary=summary, requested_by=requested_by)
    if attempt is None:
        return TransferRequest(False, Refusal.NOT_LIVE)
    try:
        if mode == TransferAttempt.Mode.WARM:
            _start_warm(call, attempt)
        else:
            _redirect(call.call_sid, _dial_twiml(call, attempt))
    except TransferFailed as error:
        logger.warning("Call %s could not be transferred to %s: %s", call.pk, attempt.target, error,
                       extra={"call_id": call.pk})
        _settle(attempt, TransferAttempt.Status.FAILED, error=str(error))
        return TransferRequest(False, error.refusal)
    live.publish_call(call, transfer=True)
    return TransferRequest(True)


def transfer_refusal(call_id: int) -> TransferRequest | None:
    """Why the bot's hand-off of this call would be refused now, as far as it is known
    before Twilio is asked (the call not live, no targets, outside agent hours); None if it
    could start. The bot asks first: "please hold" must be said only to a caller about to
    be handed over, and only before the redirect (which ends its stream)."""
    return _refusal(Call.objects.select_related("campaign").filter(pk=call_id).first(), None)


def _refusal(call: Call | None, to_number: str | None) -> TransferRequest | None:
    if call is None or not call.call_sid or call.status != Call.Status.IN_PROGRESS:
        return TransferRequest(False, Refusal.NOT_LIVE)
    if to_number:
        return None  # a take-over: any hour, no targets needed
    campaign = call.campaign
    if campaign is None or not campaign.transfer_targets:
        return TransferRequest(False, Refusal.NO_TARGETS)
    now = timezone.now()
    if not campaign.agents_available(now):
        return TransferRequest(False, Refusal.OUTSIDE_AGENT_HOURS, campaign.agents_open_at(now))
    return None


def our_number(call: Call) -> str:
    """The number this call uses on our side: the caller ID an agent sees for its hand-off."""
    number = call.from_number if call.direction == Call.Direction.OUTBOUND else call.to_number
    return number or (call.campaign.caller_id if call.campaign else "") or settings.TWILIO_CALLER_ID


def _ordered_targets(campaign: Campaign) -> list[str]:
    """Every target, in the order this hand-off tries them: as listed, or (round robin)
    starting one further along the list than the campaign's previous hand-off."""
    targets = list(campaign.transfer_targets)
    if campaign.transfer_order != Campaign.TransferOrder.ROUND_ROBIN or len(targets) < 2:
        return targets
    with transaction.atomic():  # only the campaign's row, for a moment: no lock order to keep
        turn = Campaign.objects.select_for_update().values_list("transfer_rotation", flat=True).get(
            pk=campaign.pk)
        Campaign.objects.filter(pk=campaign.pk).update(transfer_rotation=F("transfer_rotation") + 1)
    start = turn % len(targets)
    return targets[start:] + targets[:start]


def _open_attempt(call: Call, targets: list[str], mode: str, **details) -> TransferAttempt | None:
    """The hand-off's first attempt, unless the call ended or another hand-off is ringing."""
    with transaction.atomic():
        locked = Call.objects.select_for_update().filter(pk=call.pk, status=Call.Status.IN_PROGRESS).first()
        if locked is None or locked.transfers.pending().exists():
            return None
        attempt = TransferAttempt.objects.create(
            call=call, target=targets[0], next_targets=targets[1:], mode=mode,
            reason=details["reason"][:300], summary=details["summary"][:SUMMARY_MAX_CHARS],
            requested_by=details["requested_by"],
        )
        if mode == TransferAttempt.Mode.WARM:
            attempt.conference = f"transfer-{attempt.pk}"
            attempt.save(update_fields=["conference"])
    return attempt


def _settle(attempt: TransferAttempt, status: str, **fields) -> bool:
    """Decide a ringing attempt, once: True if this call decided it."""
    now = timezone.now()
    fields = {"ended_at": now, **fields} if status != TransferAttempt.Status.ANSWERED else fields
    return bool(TransferAttempt.objects.pending().filter(pk=attempt.pk).update(status=status, **fields))


def _ring_seconds(call: Call) -> int:
    return call.campaign.agent_ring_timeout_secs if call.campaign else DEFAULT_RING_SECONDS


def _dial_twiml(call: Call, attempt: TransferAttempt) -> str:
    action = with_retries(public_url(reverse("twilio-dial", args=[attempt.pk])))
    answered = with_retries(public_url(reverse("twilio-dial-answered", args=[attempt.pk])))
    return twiml.dial_number(attempt.target, caller_id=our_number(call), timeout=_ring_seconds(call),
                             action=action, answered=answered)


def _redirect(call_sid: str, new_twiml: str) -> None:
    """Give a live call new TwiML (its media stream, if any, ends)."""
    try:
        twilio_client(REST_TIMEOUT).calls(call_sid).update(twiml=new_twiml)
    except TwilioRestException as error:
        if error.code == 20404:
            raise TransferFailed("the call had already ended", Refusal.NOT_LIVE) from None
        raise TransferFailed(f"Twilio error {error.code}: {error.msg}") from None
    except (TwilioException, RequestException) as error:
        raise TransferFailed(f"Twilio could not be reached: {error}") from None


def _hang_up(call_sid: str) -> None:
    try:
        twilio_client(REST_TIMEOUT).calls(call_sid).update(status="completed")
    except TwilioRestException as error:
        if error.code != 20404:  # 20404: it had ended already
            logger.warning("Could not hang up agent leg %s: %s", call_sid, error.msg)
    except (TwilioException, RequestException) as error:
        logger.warning("Could not hang up agent leg %s: %s", call_sid, error)


def _transferred(call: Call, target: str) -> None:
    """An agent took the call: its outcome, for the call and its lead."""
    with transaction.atomic():  # the lead, then the call: the order settling locks them in
        if call.lead_id:
            settling.record_outcome(call.lead_id, Disposition.TRANSFERRED)
        Call.objects.filter(pk=call.pk).update(disposition=Disposition.TRANSFERRED, transferred_to=target)
        # The call's row is locked now: the event is written once, with the change it reports.
        call_events.call_transferred(call.pk, target)
    call.refresh_from_db()
    live.publish_call(call, transfer=True)


def _following(call: Call, attempt: TransferAttempt) -> TransferAttempt | None:
    """The attempt after `attempt` (created now, for the next target, unless it exists):
    None when every target was tried. Called with `attempt`'s row locked."""
    following = call.transfers.filter(pk__gt=attempt.pk).order_by("pk").first()
    if following is None and attempt.next_targets:
        following = TransferAttempt.objects.create(
            call=call, target=attempt.next_targets[0], next_targets=attempt.next_targets[1:],
            mode=attempt.mode, reason=attempt.reason, summary=attempt.summary,
            requested_by=attempt.requested_by, conference=attempt.conference,
        )
    return following


def back_to_bot_twiml(call: Call) -> str:
    """The caller, back with the bot after a hand-off no agent took."""
    unanswered = (call.campaign.transfer_unanswered if call.campaign
                  else Campaign.TransferUnanswered.OFFER_CALLBACK)
    return twiml.connect_to_bot(call, resume=RESUME_AGENT_UNAVAILABLE, transfer_unanswered=unanswered)


# -- cold: the agent's leg answered, the <Dial> action -------------------------------------

def agent_answered(attempt_id: int, agent_call_sid: str) -> bool:
    """The <Number>'s statusCallback: the agent answered and is talking with the caller now.
    False for an attempt we do not know."""
    attempt = TransferAttempt.objects.select_related("call").filter(pk=attempt_id).first()
    if attempt is None:
        return False
    answered = {"answered_at": timezone.now(), "agent_call_sid": agent_call_sid}
    if _settle(attempt, TransferAttempt.Status.ANSWERED, **answered):
        _transferred(attempt.call, attempt.target)
    return True


def dial_ended(attempt_id: int, params: dict) -> str | None:
    """Twilio's <Dial> action: the agent's leg is over (or never began). Record it and say
    what the caller's call does next, as TwiML; None for an attempt we do not know. A
    repeated request (Twilio retries) answers the same."""
    with transaction.atomic():
        attempt = TransferAttempt.objects.select_for_update().filter(pk=attempt_id).first()
        if attempt is None:
            return None
        call = Call.objects.select_related("campaign").get(pk=attempt.call_id)
        status = DIAL_OUTCOMES.get(params["DialCallStatus"], TransferAttempt.Status.FAILED)
        duration, now = params.get("DialCallDuration"), timezone.now()
        fields = {"agent_call_sid": params.get("DialCallSid") or "", "duration_secs": duration}
        if status == TransferAttempt.Status.ANSWERED:
            # Its answer was reported already (agent_answered), unless that callback was lost.
            fields |= {"answered_at": now - timedelta(seconds=duration or 0), "ended_at": now}
            if _settle(attempt, status, **fields):
                _transferred(call, attempt.target)
            TransferAttempt.objects.filter(pk=attempt.pk, ended_at__isnull=True).update(
                ended_at=now, duration_secs=duration)
        else:
            _settle(attempt, status, **fields)
        attempt.refresh_from_db()
        caller_gone = params.get("CallStatus") in Call.FINAL_STATUSES
        if attempt.status == TransferAttempt.Status.ANSWERED or caller_gone:
            return twiml.HANG_UP  # the conversation with the agent is over, or the caller hung up
        following = _following(call, attempt)
    if following is not None and following.status == TransferAttempt.Status.RINGING:
        return _dial_twiml(call, following)
    live.publish_call(call, transfer=True)
    return back_to_bot_twiml(call)


# -- warm: the agent's own call, the conference ------------------------------------------

def _start_warm(call: Call, attempt: TransferAttempt) -> None:
    """Ring the agent first (a refusal leaves the caller with the bot), then move the caller
    into the conference to wait."""
    _dial_agent(call, attempt)
    try:
        _redirect(call.call_sid, _conference_twiml(attempt, starts=False))
    except TransferFailed:
        attempt.refresh_from_db()
        if attempt.agent_call_sid:
            _hang_up(attempt.agent_call_sid)
        raise


def _conference_twiml(attempt: TransferAttempt, *, starts: bool) -> str:
    return twiml.conference(
        attempt.conference, starts=starts,
        wait_url=settings.TRANSFER_WAIT_URL,
        status_callback=with_retries(public_url(reverse("twilio-conference", args=[attempt.pk]))),
    )


def _dial_agent(call: Call, attempt: TransferAttempt) -> None:
    """The agent's leg, a Call of its own whose bot session briefs them."""
    agent = Call.objects.create(
        direction=Call.Direction.OUTBOUND, campaign=call.campaign, transfer_of=call,
        from_number=our_number(call), to_number=attempt.target, dial_requested_at=timezone.now(),
        parameters={"role": AGENT_BRIEFING, "transfer_of": str(call.pk), "reason": attempt.reason,
                    "summary": attempt.summary},
    )
    TransferAttempt.objects.filter(pk=attempt.pk).update(agent_call=agent)
    status_url = with_retries(public_url(f"{reverse('twilio-status')}?call_id={agent.pk}"))
    # The agent's call counts against the account's calls per second like every dial; the
    # caller holds meanwhile, so past the wait it is placed anyway (Twilio queues it).
    if not send_pacer().take(timeout=REST_TIMEOUT):
        logger.warning("No calls-per-second token for agent leg %s within %s s: placing it anyway",
                       agent.pk, REST_TIMEOUT, extra={"call_id": call.pk})
    try:
        created = twilio_client(REST_TIMEOUT).calls.create(
            to=agent.to_number, from_=agent.from_number, twiml=twiml.connect_to_bot(agent),
            status_callback=status_url, status_callback_event=STATUS_EVENTS,
            status_callback_method="POST", timeout=_ring_seconds(call),
            time_limit=settings.TWILIO_TIME_LIMIT_SECONDS,
        )
    except TwilioRestException as error:
        message = f"Twilio refused the agent's call: error {error.code}: {error.msg}"
        Call.objects.filter(pk=agent.pk).update(status=Call.Status.FAILED, ended_at=timezone.now(),
                                                error_code=str(error.code or ""), error_message=message)
        raise TransferFailed(message) from None
    except (TwilioException, RequestException) as error:
        # It may have reached Twilio: the reaper finds it (its status callbacks name it).
        raise TransferFailed(f"Twilio could not be reached to call the agent: {error}") from None
    Call.objects.filter(pk=agent.pk, call_sid__isnull=True).update(call_sid=created.sid)
    TransferAttempt.objects.filter(pk=attempt.pk).update(agent_call_sid=created.sid)


def agent_briefed(agent_call_id: int) -> None:
    """The briefing bot is done: move the agent into the conference where the caller waits
    (its media stream ends). Nothing, if the hand-off was decided meanwhile."""
    attempt = TransferAttempt.objects.pending().select_related("call__campaign", "agent_call").filter(
        agent_call_id=agent_call_id).first()
    if attempt is None or not attempt.agent_call.call_sid:
        return
    TransferAttempt.objects.filter(pk=attempt.pk, answered_at__isnull=True).update(answered_at=timezone.now())
    try:
        _redirect(attempt.agent_call.call_sid, _conference_twiml(attempt, starts=True))
    except TransferFailed as error:
        logger.warning("Could not join agent leg %s to its conference: %s", agent_call_id, error)
        _hang_up(attempt.agent_call.call_sid)
        if _settle(attempt, TransferAttempt.Status.FAILED, error=str(error)):
            _pass_on_warm(attempt.call, attempt)


def conference_event(attempt_id: int, params: dict) -> bool:
    """The conference's statusCallback: the agent joining decides the hand-off; the caller
    leaving before that (hung up while holding) ends the agent's leg. False if unknown.

    Twilio sends a conference's events to the statusCallback of the participant that
    created it (the caller, who entered with the first attempt's URL), whichever attempt's
    agent they concern: the attempt they decide is the conference's own pending one, found
    by the joining agent's CallSid, not the one the URL names."""
    attempt = TransferAttempt.objects.select_related("call").filter(pk=attempt_id).first()
    if attempt is None:
        return False
    event, sid, now = params["StatusCallbackEvent"], params.get("CallSid") or "", timezone.now()
    room = TransferAttempt.objects.filter(call_id=attempt.call_id, conference=attempt.conference)
    if event == "participant-join" and sid:
        joining = room.pending().filter(Q(agent_call_sid=sid) | Q(agent_call__call_sid=sid)).first()
        if joining is not None and _settle(joining, TransferAttempt.Status.ANSWERED,
                                           answered_at=joining.answered_at or now):
            _transferred(attempt.call, joining.target)
    elif event == "participant-leave" and sid and sid == attempt.call.call_sid:
        holding = room.pending().select_related("agent_call").first()
        if holding is not None and _settle(holding, TransferAttempt.Status.CANCELED,
                                           error="The caller hung up while holding."):
            agent_sid = holding.agent_call_sid or (holding.agent_call.call_sid if holding.agent_call else "")
            if agent_sid:
                _hang_up(agent_sid)
    if event in ("participant-leave", "conference-end"):
        for answered in room.filter(status=TransferAttempt.Status.ANSWERED, ended_at__isnull=True):
            _ended(answered, now)
    return True


def _ended(attempt: TransferAttempt, now: datetime) -> None:
    """An answered attempt's conversation is over: when, and how long it lasted."""
    answered = TransferAttempt.objects.filter(pk=attempt.pk, status=TransferAttempt.Status.ANSWERED,
                                              ended_at__isnull=True).first()
    if answered is not None:
        seconds = int((now - answered.answered_at).total_seconds()) if answered.answered_at else None
        TransferAttempt.objects.filter(pk=attempt.pk, ended_at__isnull=True).update(
            ended_at=now, duration_secs=seconds)


def _agent_leg_outcome(agent: Call) -> str:
    if agent.status == Call.Status.FAILED and agent.error_code in DECLINED_SIP_CODES:
        return TransferAttempt.Status.DECLINED
    if agent.status == Call.Status.COMPLETED:
        # It ended before it joined: answered and left during the briefing, or refused unanswered.
        return (TransferAttempt.Status.HUNG_UP_BEFORE_JOIN if agent.answered_at
                else TransferAttempt.Status.DECLINED)
    return DIAL_OUTCOMES.get(agent.status, TransferAttempt.Status.FAILED)


def _pass_on_warm(call: Call, attempt: TransferAttempt) -> None:
    """After a warm attempt nobody took: ring the next target while the caller holds on,
    or, with none left, bring the caller back to the bot."""
    while True:
        with transaction.atomic():
            locked = TransferAttempt.objects.select_for_update().get(pk=attempt.pk)
            following = _following(call, locked)
        if following is None or following.status != TransferAttempt.Status.RINGING:
            break
        try:
            _dial_agent(call, following)
            return
        except TransferFailed as error:
            _settle(following, TransferAttempt.Status.FAILED, error=str(error))
            attempt = following
    try:
        _redirect(call.call_sid, back_to_bot_twiml(call))
    except TransferFailed as error:
        logger.info("Call %s could not be brought back to the bot: %s", call.pk, error)
    live.publish_call(call, transfer=True)


def calls_ended(call_ids: list[int]) -> None:
    """Calls that reached a final status (calls.status): a caller gone while an agent was
    rung (the agent's leg is hung up), an agent leg that ended before joining (the
    hand-off passes on), an agent's conversation that is over."""
    if not call_ids:
        return
    ended = set(call_ids)
    attempts = TransferAttempt.objects.filter(Q(call_id__in=ended) | Q(agent_call_id__in=ended)).filter(
        ended_at__isnull=True).select_related("call__campaign", "agent_call")
    for attempt in attempts:
        call, agent = attempt.call, attempt.agent_call
        if attempt.status != TransferAttempt.Status.RINGING:
            _ended(attempt, timezone.now())
        elif attempt.call_id in ended:
            gone = _settle(attempt, TransferAttempt.Status.CANCELED, error=CALLER_GONE)
            if gone and agent is not None and agent.is_live and agent.call_sid:
                _hang_up(agent.call_sid)
        elif agent is not None:
            over = _settle(attempt, _agent_leg_outcome(agent), duration_secs=agent.duration_seconds)
            if over and call.is_live:
                _pass_on_warm(call, attempt)


# -- a lost callback: the reaper settles from Twilio's own records -----------------------

ANSWERED_LEG = {"in-progress", "completed"}  # a <Dial>ed leg that completed was answered


def reconcile(now: datetime | None = None) -> int:
    """Settle the attempts still ringing well past their agent's ring timeout (their <Dial>
    action, or the conference's or the agent leg's callbacks, were lost) from Twilio's
    records of the agent's leg; called by the reaper. Returns how many were settled."""
    now = now or timezone.now()
    margin = timedelta(seconds=settings.RECONCILE_MARGIN_SECONDS)
    settled = 0
    for attempt in TransferAttempt.objects.pending().select_related("call__campaign", "agent_call"):
        if attempt.created_at >= now - timedelta(seconds=_ring_seconds(attempt.call)) - margin:
            continue
        try:
            leg = _agent_leg(attempt)
        except (TwilioException, RequestException) as error:
            logger.warning("Could not look up transfer %s's agent leg: %s", attempt.pk, error)
            continue
        settled += _reconcile_attempt(attempt, leg, now)
    return settled


def _agent_leg(attempt: TransferAttempt):
    """Twilio's record of the attempt's agent leg, or None if it has none (yet)."""
    client = twilio_client(REST_TIMEOUT)
    if attempt.mode == TransferAttempt.Mode.WARM:
        sid = attempt.agent_call_sid or (attempt.agent_call.call_sid if attempt.agent_call else "")
        if not sid:
            return None
        try:
            return client.calls(sid).fetch()
        except TwilioRestException as error:
            if error.code == 20404:
                return None
            raise
    legs = client.calls.list(parent_call_sid=attempt.call.call_sid, limit=50)
    return next((leg for leg in legs if leg.sid == attempt.agent_call_sid), None) or next(
        (leg for leg in legs if leg.to == attempt.target), None)


def _reconcile_attempt(attempt: TransferAttempt, leg, now: datetime) -> bool:
    call = attempt.call
    call.refresh_from_db()
    status = str(leg.status) if leg is not None else ""
    sid = leg.sid if leg is not None else attempt.agent_call_sid
    briefed = attempt.mode == TransferAttempt.Mode.COLD or attempt.answered_at is not None
    if status in ANSWERED_LEG and briefed:
        duration = int(leg.duration) if leg.duration else None
        fields = {"agent_call_sid": sid, "answered_at": attempt.answered_at or now}
        if status == "completed":
            fields |= {"ended_at": now, "duration_secs": duration}
        if _settle(attempt, TransferAttempt.Status.ANSWERED, **fields):
            _transferred(call, attempt.target)
            return True
        return False
    if not call.is_live:
        if _settle(attempt, TransferAttempt.Status.CANCELED, error=CALLER_GONE):
            if status and status not in Call.FINAL_STATUSES and sid:
                _hang_up(sid)
            return True
        return False
    if status not in Call.FINAL_STATUSES:
        return False  # still ringing, or (warm) still being briefed: the callbacks may yet come
    outcome = DIAL_OUTCOMES.get(status, TransferAttempt.Status.FAILED)
    if status == "completed":  # warm: the agent's call ended before it was moved into the room
        outcome = TransferAttempt.Status.HUNG_UP_BEFORE_JOIN
    if not _settle(attempt, outcome, agent_call_sid=sid or "", error="Settled from Twilio's records."):
        return False
    if attempt.mode == TransferAttempt.Mode.WARM:
        _pass_on_warm(call, attempt)
        return True
    with transaction.atomic():
        following = _following(call, TransferAttempt.objects.select_for_update().get(pk=attempt.pk))
    next_twiml = (_dial_twiml(call, following) if following is not None
                  and following.status == TransferAttempt.Status.RINGING else back_to_bot_twiml(call))
    try:
        _redirect(call.call_sid, next_twiml)
    except TransferFailed as error:
        logger.info("Call %s could not be moved on after transfer %s: %s", call.pk, attempt.pk, error)
    live.publish_call(call)
    return True
