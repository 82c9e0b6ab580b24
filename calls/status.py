"""Twilio's status callbacks applied to our Call rows.

Twilio promises neither order nor exactly-once delivery. Every callback is kept as a
CallEvent, but the call's status only ever moves forward (Call.STATUS_RANK), so any
shuffle or repetition of the same callbacks converges on the same final row."""

import logging
from email.utils import parsedate_to_datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from calls import live
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


def _find_or_create_call(params: dict, call_id_hint: str | None) -> Call:
    """The call, locked. Concurrent callbacks for one call queue up on this row lock."""
    sid = params["CallSid"]
    # An outbound call's first callbacks can beat the REST answer that tells us its
    # CallSid: our status URL carries our own call id for that case.
    if call_id_hint and call_id_hint.isdigit():
        call = _locked_calls().filter(pk=int(call_id_hint)).first()
        if call and call.call_sid in (None, sid):
            if call.call_sid is None:
                call.call_sid = sid
                call.save(update_fields=["call_sid"])
            return call
    call = _locked_calls().filter(call_sid=sid).first()
    if call:
        return call
    logger.warning("Status callback for a call we did not place", extra={"call_sid": sid})
    inbound = params.get("Direction") == "inbound"
    try:
        with transaction.atomic():
            return Call.objects.create(
                call_sid=sid,
                direction=Call.Direction.INBOUND if inbound else Call.Direction.OUTBOUND,
                from_number=params.get("From", ""), to_number=params.get("To", ""),
            )
    except IntegrityError:  # a concurrent callback created it first
        return _locked_calls().get(call_sid=sid)


def apply_status_callback(params: dict, raw: dict, call_id_hint: str | None = None) -> Call:
    """Store the callback and move the call forward; have its lead settled on the first final status."""
    new_status = params["CallStatus"]
    with transaction.atomic():
        call = _find_or_create_call(params, call_id_hint)
        CallEvent.objects.create(
            call=call, call_status=new_status, sequence_number=params.get("SequenceNumber"), params=raw
        )
        became_final = _move_forward(call, params)
        live.publish_call(call)
    if became_final:
        # The lead's scheduler settles the attempt on a worker: retry rules and campaign
        # completion are its business, and Twilio need not wait for them.
        from campaigns.tasks import settle_call  # campaigns.tasks imports this module

        settle_call.delay(call.pk)
    return call


def _move_forward(call: Call, params: dict) -> bool:
    new_status = params["CallStatus"]
    was_final = call.status in Call.FINAL_STATUSES
    sequence = params.get("SequenceNumber")
    if sequence is not None and (call.last_sequence_number is None or sequence > call.last_sequence_number):
        call.last_sequence_number = sequence
    if Call.STATUS_RANK[new_status] > Call.STATUS_RANK[call.status]:
        call.status = new_status
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
    call.save(update_fields=[
        "last_sequence_number", "status", "answered_at", "ended_at", "duration_seconds", "answered_by",
        "error_code", "error_message",
    ])
    return not was_final and call.status in Call.FINAL_STATUSES


def apply_amd_result(params: dict, raw: dict) -> Call | None:
    """Asynchronous answering-machine detection: record it and tell the live bot session."""
    with transaction.atomic():
        call = _locked_calls().filter(call_sid=params["CallSid"]).first()
        if call is None:
            return None
        CallEvent.objects.create(call=call, call_status="amd", params=raw)
        call.answered_by = params["AnsweredBy"]
        call.save(update_fields=["answered_by"])
        live.tell_bot(call.call_sid, {"type": "amd.result", "answered_by": call.answered_by})
        live.publish_call(call)
    return call
