"""Call events for webhooks: call.started when a call is answered, call.transferred when an
agent takes it, call.ended once it is over and its outcome is stored. Called inside the
transaction that changed the call, with the call's row locked, so each is written once.

A call ends in two steps that come in either order: Twilio's final status and, for a call
the bot spoke on, the bot session's summary (its sign that transcript, outcome and
recording are stored). call.ended waits for both."""

from calls.dialer.settling import disposition_from_status
from calls.models import Call, TransferAttempt
from calls.recording_links import recording_link
from campaigns.models import Lead
from campaigns.webhooks import outbox
from campaigns.webhooks.events import campaign_data, lead_data
from campaigns.webhooks.models import EventType


def call_data(call: Call, *, ended: bool) -> dict:
    data = {
        "id": call.pk, "call_sid": call.call_sid, "direction": call.direction, "status": call.status,
        "from": call.from_number, "to": call.to_number, "attempt": call.attempt,
        "answered_by": call.answered_by, "created_at": call.created_at, "answered_at": call.answered_at,
    }
    if ended:
        data |= {
            "ended_at": call.ended_at,
            "duration_seconds": call.duration_seconds,
            "outcome": call.disposition or disposition_from_status(call),
            "transferred_to": call.transferred_to,
            "notes": call.notes, "summary": call.summary,
            "transcript": [{"speaker": line.speaker, "text": line.text, "offset_ms": line.offset_ms}
                           for line in call.transcript.all()],
            "recording_url": recording_link(call) if call.recording else None,
            "error_code": call.error_code, "error_message": call.error_message,
        }
    return data


def payload(call: Call, *, ended: bool) -> dict:
    lead = Lead.objects.select_related("customer").filter(pk=call.lead_id).first() if call.lead_id else None
    return {
        "call": call_data(call, ended=ended),
        "campaign": campaign_data(call.campaign) if call.campaign else None,
        "lead": lead_data(lead) if lead else None,
    }


def call_started(call: Call) -> None:
    if call.is_test or call.transfer_of_id:
        return  # a staff member trying the bot, or our own agent briefed: nothing for the CRM
    outbox.emit(EventType.CALL_STARTED, lambda: payload(call, ended=False),
                campaign_id=call.campaign_id, subject=f"call:{call.pk}")


def call_ended_if_ready(call: Call) -> None:
    if call.is_test or call.transfer_of_id or call.status not in Call.FINAL_STATUSES:
        return
    if call.stream_sid and not call.summary:
        return
    outbox.emit(EventType.CALL_ENDED, lambda: payload(call, ended=True),
                campaign_id=call.campaign_id, subject=f"call:{call.pk}")


def transfer_data(attempt: TransferAttempt) -> dict:
    return {
        "agent": attempt.target, "mode": attempt.mode, "requested_by": attempt.requested_by,
        "reason": attempt.reason, "summary": attempt.summary, "agent_call_sid": attempt.agent_call_sid,
        "requested_at": attempt.created_at, "answered_at": attempt.answered_at,
    }


def call_transferred(call_id: int, agent: str) -> None:
    """The agent `agent` answered the call's hand-off: called in the transaction that
    recorded it, with the call's row locked."""
    attempt = (TransferAttempt.objects.select_related("call__campaign")
               .filter(call_id=call_id, target=agent, status=TransferAttempt.Status.ANSWERED)
               .order_by("-pk").first())
    if attempt is None or attempt.call.is_test:
        return
    call = attempt.call
    outbox.emit(EventType.CALL_TRANSFERRED,
                lambda: {**payload(call, ended=False), "transfer": transfer_data(attempt)},
                campaign_id=call.campaign_id, subject=f"call:{call.pk}")
