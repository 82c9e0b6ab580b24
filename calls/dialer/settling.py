"""What a finished call means for its lead: done, retried later, or never again.

Two messages settle an attempt and they arrive in either order: Twilio's final status
callback (busy, no-answer, completed …) and the bot's verdict on the conversation
(interested, callback requested …). Both land here and converge on the same lead state."""

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from calls.models import Call
from campaigns import lifecycle
from campaigns.models import Campaign, Disposition, DoNotCall, Lead
from campaigns.webhooks import events as webhook_events

# Outcomes that say nothing about the person yet: try again after the campaign's delay.
RETRYABLE = {Disposition.BUSY, Disposition.NO_ANSWER, Disposition.FAILED, Disposition.VOICEMAIL}

_FROM_STATUS = {
    Call.Status.BUSY: Disposition.BUSY,
    Call.Status.NO_ANSWER: Disposition.NO_ANSWER,
    Call.Status.FAILED: Disposition.FAILED,
    Call.Status.CANCELED: Disposition.NO_ANSWER,
}


def disposition_from_status(call: Call) -> str:
    """Twilio's final status as an outcome, for calls the bot gave no verdict on."""
    if call.status in _FROM_STATUS:
        return _FROM_STATUS[call.status]
    if call.answered_by.startswith("machine"):
        return Disposition.VOICEMAIL
    return Disposition.COMPLETED


def retry_delay(campaign: Campaign, attempts_made: int) -> timedelta:
    delays = campaign.retry_delays_minutes or [60]
    return timedelta(minutes=delays[min(attempts_made, len(delays)) - 1])


def _apply(lead: Lead, disposition: str, callback_at: datetime | None) -> None:
    """Move a lead whose attempt is over to the state its outcome asks for."""
    lead.last_outcome = disposition
    lead.claimed_at = None
    if disposition == Disposition.CALLBACK_REQUESTED and callback_at:
        # A callback the person asked for is honoured even past the attempt limit.
        lead.state, lead.next_attempt_at, lead.callback_at = Lead.State.RETRY, callback_at, callback_at
    elif disposition == Disposition.DO_NOT_CALL:
        lead.state, lead.next_attempt_at = Lead.State.DO_NOT_CALL, None
    elif disposition in RETRYABLE and lead.attempts < lead.campaign.max_attempts:
        lead.state = Lead.State.RETRY
        lead.next_attempt_at = timezone.now() + retry_delay(lead.campaign, lead.attempts)
    elif disposition in RETRYABLE:
        lead.state, lead.next_attempt_at = Lead.State.FAILED, None
    else:
        lead.state, lead.next_attempt_at = Lead.State.DONE, None


def settle_calls(call_ids: list[int]) -> None:
    """Calls that reached a final status: settle their leads' attempts (once per attempt).

    The attempt's verdict is the bot's when it gave one (kept on the lead, which the
    dispatcher clears when it claims an attempt), else what Twilio's status says. A batch of
    calls takes a few statements, not a few per call."""
    finished_campaigns = {}
    with transaction.atomic():
        # The leads, then their calls, each in id order, so concurrent batches queue up rather
        # than deadlock. Only those rows: locking their campaigns too would order campaign
        # locks by lead id and let two batches (or a batch and record_outcome) wait on each other.
        leads = Lead.objects.select_for_update(of=("self",)).select_related("campaign").filter(
            pk__in=Call.objects.filter(pk__in=call_ids).values("lead_id"))
        leads_by_id = {lead.pk: lead for lead in leads.order_by("pk")}
        # A call deleted since is simply not here.
        for call in Call.objects.select_for_update().filter(pk__in=call_ids).order_by("pk"):
            lead = leads_by_id.get(call.lead_id)
            current = (lead is not None and call.attempt == lead.attempts
                       and lead.state in Lead.IN_FLIGHT_STATES)
            verdict = ((lead.last_outcome if current else "") or call.disposition
                       or disposition_from_status(call))
            if call.disposition == Disposition.TRANSFERRED:
                # An agent took the call: that is what came of it, whatever verdict the bot's
                # session stored last (its summary may be written after the agent answered).
                verdict = Disposition.TRANSFERRED
            if not call.disposition:
                call.disposition = verdict
                call.save(update_fields=["disposition"])
            if current:  # else no lead, an older attempt, or already settled
                _apply(lead, verdict, lead.callback_at)
                lead.save()
                webhook_events.lead_settled(lead)
                finished_campaigns[lead.campaign_id] = lead.campaign
    for campaign in finished_campaigns.values():
        lifecycle.complete_if_finished(campaign)


def record_outcome(
    lead_id: int, disposition: str, notes: str = "", callback_at: datetime | None = None
) -> None:
    """The bot's verdict on a conversation with this lead (an outbound attempt or a callback
    the person made). While the attempt's call is still live only the verdict is kept; the
    final status callback then settles the lead with it."""
    with transaction.atomic():
        lead = Lead.objects.select_for_update().select_related("campaign", "customer").get(pk=lead_id)
        lead.notes = notes or lead.notes
        if disposition == Disposition.DO_NOT_CALL:
            DoNotCall.objects.add([lead.customer.phone], notes, source="bot")
        if lead.state in Lead.IN_FLIGHT_STATES:
            lead.last_outcome, lead.callback_at = disposition, callback_at
        else:
            _apply(lead, disposition, callback_at)
        lead.save()
        webhook_events.lead_settled(lead)
        lifecycle.reopen_for(lead)
    lifecycle.complete_if_finished(lead.campaign)
