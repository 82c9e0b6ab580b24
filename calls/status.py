"""Twilio's status callbacks applied to our Call rows.

Twilio promises neither order nor exactly-once delivery. Every callback is kept as a
CallEvent, but the call's status only ever moves forward (Call.move_to), so any
shuffle or repetition of the same callbacks converges on the same final row. Callbacks
arrive here in batches, from the stream the webhook feeds (calls.status_stream)."""

import logging
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from calls import breaker, live, transfers
from calls import events as call_events
from calls.dialer import settling
from calls.models import Call, CallEvent

logger = logging.getLogger(__name__)


def _timestamp(params: dict):
    try:
        return parsedate_to_datetime(params["Timestamp"])
    except (KeyError, TypeError, ValueError):
        return timezone.now()


def _locked_calls():
    # The customer comes along for the live update; only the call's row is locked.
    return Call.objects.select_for_update(of=("self",)).select_related("customer")


@dataclass(frozen=True)
class StatusCallback:
    params: dict  # StatusCallbackForm's cleaned data
    raw: dict  # every field as Twilio sent it, kept on the CallEvent
    # An outbound call's first callbacks can beat the REST answer that tells us its
    # CallSid: our status URL carries our own call id (?call_id=) for that case.
    call_id_hint: str | None = None


class _CreatedMeanwhile(Exception):
    """A call this batch was creating was committed by a concurrent batch first."""


class _LockedCalls:
    """The calls a batch of callbacks names, found by call id hint or CallSid and locked in
    id order, so concurrent batches queue up instead of deadlocking. Calls not found are
    created last, in CallSid order: a batch that waits on another's insert of the same
    CallSid then holds nothing that one still wants. If the other commits it first, the
    batch starts over (_CreatedMeanwhile), rather than lock that row out of id order."""

    def __init__(self, callbacks: list[StatusCallback]):
        ids = {int(cb.call_id_hint) for cb in callbacks if cb.call_id_hint and cb.call_id_hint.isdigit()}
        sids = {cb.params["CallSid"] for cb in callbacks}
        calls = list(_locked_calls().filter(Q(pk__in=ids) | Q(call_sid__in=sids)).order_by("pk"))
        self.by_id = {call.pk: call for call in calls}
        self.by_sid = {call.call_sid: call for call in calls if call.call_sid}
        unknown = {}
        for callback in callbacks:
            if self.find(callback) is None:
                unknown.setdefault(callback.params["CallSid"], callback.params)
        for sid in sorted(unknown):
            call = self._create(unknown[sid])
            self.by_id[call.pk], self.by_sid[sid] = call, call

    def find(self, callback: StatusCallback) -> Call | None:
        """The callback's call (every one is, once the batch is locked), given its CallSid."""
        sid, hint = callback.params["CallSid"], callback.call_id_hint
        call = self.by_id.get(int(hint)) if hint and hint.isdigit() else None
        if call and call.call_sid in (None, sid):
            call.call_sid = sid
        else:
            call = self.by_sid.get(sid)
        if call is not None:
            self.by_id[call.pk], self.by_sid[sid] = call, call
        return call

    @staticmethod
    def _create(params: dict) -> Call:
        sid = params["CallSid"]
        logger.warning("Status callback for a call we did not place", extra={"call_sid": sid})
        inbound = params.get("Direction") == "inbound"
        try:
            with transaction.atomic():
                return Call.objects.create(
                    call_sid=sid,
                    direction=Call.Direction.INBOUND if inbound else Call.Direction.OUTBOUND,
                    from_number=params.get("From", ""), to_number=params.get("To", ""),
                )
        except IntegrityError:
            raise _CreatedMeanwhile(sid) from None


MOVED_FIELDS = ["call_sid", "last_sequence_number", "status", "answered_at", "ended_at", "duration_seconds",
                "answered_by", "error_code", "error_message", "last_heard_at", "price", "price_unit"]


def apply_status_callbacks(callbacks: list[StatusCallback]) -> list[Call]:
    """Store every callback and move its call forward, in one transaction and a few
    statements however many there are; then settle the lead of each call that became final."""
    # Each round that starts over found one more of the batch's CallSids created by another
    # batch, so there are at most as many rounds as CallSids; the last one lets the error out.
    rounds = len({cb.params["CallSid"] for cb in callbacks}) + 1
    for round_ in range(1, rounds + 1):
        try:
            moved, became_final = _apply(callbacks)
            break
        except _CreatedMeanwhile:
            if round_ == rounds:
                raise
    # Retry rules and campaign completion are the scheduler's. The callbacks are stored
    # whatever happens here: a failure is logged, and the reaper settles what is left.
    if became_final:
        try:
            settling.settle_calls(became_final)
        except Exception:
            logger.exception("Settling calls %s failed; the reaper will settle them", became_final)
        try:
            # A hand-off this ending decides: an agent leg over, a caller gone while one rang.
            transfers.calls_ended(became_final)
        except Exception:
            logger.exception("Transfers of calls %s could not be followed up", became_final)
        ended = set(became_final)
        breaker.check_campaigns(call.campaign_id for call in moved if call.pk in ended)
    return moved


def _apply(callbacks: list[StatusCallback]) -> tuple[list[Call], list[int]]:
    became_final, answered = [], {}
    with transaction.atomic():
        calls, moved, events = _LockedCalls(callbacks), {}, []
        for callback in callbacks:
            call = calls.find(callback)
            events.append(CallEvent(
                call=call, call_status=callback.params["CallStatus"],
                sequence_number=callback.params.get("SequenceNumber"), params=callback.raw,
            ))
            unanswered = call.answered_at is None
            if _move_forward(call, callback.params):
                became_final.append(call.pk)
            if unanswered and call.answered_at:
                answered[call.pk] = call
            moved[call.pk] = call
        CallEvent.objects.bulk_create(events)
        for call in moved.values():  # a save each is cheaper than bulk_update's CASE per field
            call.save(update_fields=MOVED_FIELDS)
        for call in answered.values():
            call_events.call_started(call)
        for call_id in became_final:
            call_events.call_ended_if_ready(moved[call_id])
        live.publish_calls(list(moved.values()))
    return list(moved.values()), became_final


def _move_forward(call: Call, params: dict) -> bool:
    """Move the call (in memory) as far as this callback takes it; True if it became final."""
    new_status = params["CallStatus"]
    was_final = call.status in Call.FINAL_STATUSES
    sequence = params.get("SequenceNumber")
    if sequence is not None and (call.last_sequence_number is None or sequence > call.last_sequence_number):
        call.last_sequence_number = sequence
    call.move_to(new_status)
    call.last_heard_at = timezone.now()
    at = _timestamp(params)
    if new_status == Call.Status.IN_PROGRESS and not call.answered_at:
        call.answered_at = at
    if new_status in Call.FINAL_STATUSES:
        # Fill what the final callback carries; a duplicate only fills gaps, never overwrites.
        call.ended_at = call.ended_at or at
        if params.get("CallDuration") is not None and call.duration_seconds is None:
            call.duration_seconds = params["CallDuration"]
        call.answered_by = call.answered_by or params.get("AnsweredBy", "")
        error = params.get("ErrorCode") or (
            params.get("SipResponseCode") if new_status == Call.Status.FAILED else ""
        )
        call.error_code = call.error_code or error or ""
        call.error_message = call.error_message or params.get("ErrorMessage", "")
        if params.get("Price") is not None and call.price is None:  # a fetched resource's
            call.price, call.price_unit = params["Price"], params.get("PriceUnit", "")
    return not was_final and call.status in Call.FINAL_STATUSES


def apply_amd_result(params: dict, raw: dict, call_id_hint: str | None = None) -> Call | None:
    """Asynchronous answering-machine detection: record it and tell the live bot session.
    Like a status callback, the result can beat the REST answer that tells us the CallSid:
    the AMD URL carries our call id (?call_id=) for that case."""
    sid = params["CallSid"]
    with transaction.atomic():
        hinted = call_id_hint and call_id_hint.isdigit()
        by_id = Q(pk=int(call_id_hint), call_sid__isnull=True) if hinted else Q()
        call = _locked_calls().filter(by_id | Q(call_sid=sid)).order_by("pk").first()
        if call is None:
            return None
        CallEvent.objects.create(call=call, call_status="amd", params=raw)
        call.call_sid, call.answered_by = sid, params["AnsweredBy"]
        call.save(update_fields=["call_sid", "answered_by"])
        live.tell_bot(call.call_sid, {"type": "amd.result", "answered_by": call.answered_by})
        live.publish_call(call)
    return call
