"""Twilio's status callbacks applied to our Call rows.

Twilio promises neither order nor exactly-once delivery. Every callback is kept as a
CallEvent, but the call's status only ever moves forward (Call.STATUS_RANK), so any
shuffle or repetition of the same callbacks converges on the same final row."""

import json
import logging
from email.utils import parsedate_to_datetime

from django.db import IntegrityError, connection, transaction
from django.db.models import JSONField
from django.utils import timezone

from calls import live
from calls.models import Call, CallEvent
from campaigns.models import Customer

logger = logging.getLogger(__name__)


def _timestamp(params: dict):
    try:
        return parsedate_to_datetime(params["Timestamp"])
    except (KeyError, TypeError, ValueError):
        return timezone.now()


def _rank_of(column: str) -> str:
    """Call.STATUS_RANK as SQL, so the database moves a status forward in the same statement."""
    ranks = " ".join(f"WHEN '{status}' THEN {rank}" for status, rank in Call.STATUS_RANK.items())
    return f"CASE {column} {ranks} END"


# What a live update shows; JSON columns stay deferred (from_db applies no converters).
_CALL_FIELDS = [field for field in Call._meta.concrete_fields if not isinstance(field, JSONField)]
_CALL_COLUMNS = [field.column for field in _CALL_FIELDS]
_CUSTOMER_COLUMNS = ["first_name", "last_name", "phone"]

# One round trip: find the call (our id from the status URL first, since an outbound call's
# first callbacks can beat the REST answer that tells us its CallSid), lock it, store the
# callback as a CallEvent and move the row forward. Concurrent callbacks for one call queue
# on the row lock; a final callback fills what it carries, a duplicate only fills gaps. The
# ORM took ~8 ms for the same work on a 2-core machine, more than all the rest of a request.
_APPLY_SQL = f"""
WITH target AS (
    SELECT id, status AS old_status, customer_id FROM calls_call
    WHERE (id = %(call_id)s AND (call_sid IS NULL OR call_sid = %(sid)s)) OR call_sid = %(sid)s
    ORDER BY id = %(call_id)s DESC NULLS LAST
    LIMIT 1
    FOR UPDATE
), event AS (
    INSERT INTO calls_callevent (call_id, call_status, sequence_number, params, received_at)
    SELECT id, %(status)s, %(sequence)s, %(params)s::jsonb, now() FROM target
)
UPDATE calls_call AS call SET
    call_sid = %(sid)s,
    last_sequence_number = GREATEST(call.last_sequence_number, %(sequence)s),
    status = CASE WHEN %(rank)s > {_rank_of("call.status")} THEN %(status)s ELSE call.status END,
    answered_at = CASE WHEN %(status)s = 'in-progress' THEN COALESCE(call.answered_at, %(at)s)
                       ELSE call.answered_at END,
    ended_at = CASE WHEN %(final)s THEN COALESCE(call.ended_at, %(at)s) ELSE call.ended_at END,
    duration_seconds = CASE WHEN %(final)s THEN COALESCE(call.duration_seconds, %(duration)s)
                            ELSE call.duration_seconds END,
    answered_by = CASE WHEN %(final)s AND call.answered_by = '' THEN %(answered_by)s
                       ELSE call.answered_by END,
    error_code = CASE WHEN %(final)s AND call.error_code = '' THEN %(error_code)s
                      ELSE call.error_code END,
    error_message = CASE WHEN %(final)s AND call.error_message = '' THEN %(error_message)s
                         ELSE call.error_message END
FROM target LEFT JOIN campaigns_customer AS customer ON customer.id = target.customer_id
WHERE call.id = target.id
RETURNING target.old_status, {", ".join(f'call."{column}"' for column in _CALL_COLUMNS)},
    {", ".join(f'customer."{column}"' for column in _CUSTOMER_COLUMNS)}
"""  # noqa: S608 (names come from the models; every value is a parameter)


def _apply(params: dict, raw: dict, call_id_hint: str | None) -> tuple[Call, bool] | None:
    """The call after this callback, and whether it just became final; None for a call we
    have no row for."""
    new_status = params["CallStatus"]
    final = new_status in Call.FINAL_STATUSES
    error_code = params.get("ErrorCode") or (
        params.get("SipResponseCode") if new_status == Call.Status.FAILED else ""
    )
    with connection.cursor() as cursor:
        cursor.execute(_APPLY_SQL, {
            "call_id": int(call_id_hint) if call_id_hint and call_id_hint.isdigit() else None,
            "sid": params["CallSid"], "status": new_status, "rank": Call.STATUS_RANK[new_status],
            "sequence": params.get("SequenceNumber"), "params": json.dumps(raw), "final": final,
            "at": _timestamp(params), "duration": params.get("CallDuration"),
            "answered_by": params.get("AnsweredBy") or "", "error_code": error_code or "",
            "error_message": params.get("ErrorMessage") or "",
        })
        row = cursor.fetchone()
    if row is None:
        return None
    old_status, values = row[0], row[1:]
    call = Call.from_db(connection.alias, [field.attname for field in _CALL_FIELDS],
                        values[:len(_CALL_COLUMNS)])
    if call.customer_id is not None:
        customer_values = dict(zip(_CUSTOMER_COLUMNS, values[len(_CALL_COLUMNS):], strict=True))
        call.customer = Customer(pk=call.customer_id, **customer_values)
    return call, old_status not in Call.FINAL_STATUSES and call.status in Call.FINAL_STATUSES


def _create_unknown_call(params: dict) -> None:
    """A callback for a call we did not place (or placed and lost): give it a row to land on."""
    logger.warning("Status callback for a call we did not place", extra={"call_sid": params["CallSid"]})
    inbound = params.get("Direction") == "inbound"
    try:
        with transaction.atomic():
            Call.objects.create(
                call_sid=params["CallSid"],
                direction=Call.Direction.INBOUND if inbound else Call.Direction.OUTBOUND,
                from_number=params.get("From", ""), to_number=params.get("To", ""),
            )
    except IntegrityError:  # a concurrent callback created it first
        pass


def apply_status_callback(params: dict, raw: dict, call_id_hint: str | None = None) -> Call:
    """Store the callback and move the call forward; have its lead settled on the first final status."""
    applied = _apply(params, raw, call_id_hint)
    if applied is None:
        _create_unknown_call(params)
        applied = _apply(params, raw, call_id_hint)
    call, became_final = applied
    live.publish_call(call)
    if became_final:
        # The lead's scheduler settles the attempt on a worker: retry rules and campaign
        # completion are its business, and Twilio need not wait for them.
        from campaigns.tasks import settle_call  # campaigns.tasks imports this module

        settle_call.delay(call.pk)
    return call


def apply_amd_result(params: dict, raw: dict) -> Call | None:
    """Asynchronous answering-machine detection: record it and tell the live bot session."""
    with transaction.atomic():
        call = Call.objects.select_for_update().filter(call_sid=params["CallSid"]).first()
        if call is None:
            return None
        CallEvent.objects.create(call=call, call_status="amd", params=raw)
        call.answered_by = params["AnsweredBy"]
        call.save(update_fields=["answered_by"])
        live.tell_bot(call.call_sid, {"type": "amd.result", "answered_by": call.answered_by})
        live.publish_call(call)
    return call
