"""The campaigns side's events and the payload parts every event shares. Each function is
called inside the transaction of the change it reports (see outbox.emit)."""

from campaigns.models import Campaign, ContactImport, Lead
from campaigns.webhooks import outbox
from campaigns.webhooks.models import EventType

FINISHED_LEAD_STATES = {Lead.State.DONE, Lead.State.FAILED}


def campaign_data(campaign: Campaign) -> dict:
    return {"id": campaign.pk, "slug": campaign.slug, "name": campaign.name,
            "status": campaign.status, "status_reason": campaign.status_reason}


def lead_data(lead: Lead) -> dict:
    customer = lead.customer
    return {
        "id": lead.pk, "campaign_id": lead.campaign_id, "state": lead.state, "attempts": lead.attempts,
        "last_outcome": lead.last_outcome, "notes": lead.notes, "callback_at": lead.callback_at,
        "variables": lead.parameters,
        "customer": {"id": customer.pk, "phone": customer.phone, "first_name": customer.first_name,
                     "last_name": customer.last_name, "email": customer.email},
    }


def campaign_status_changed(campaign_id: int, previous_status: str) -> None:
    def data():
        campaign = Campaign.objects.get(pk=campaign_id)
        return {"campaign": campaign_data(campaign), "previous_status": previous_status}

    outbox.emit(EventType.CAMPAIGN_STATUS_CHANGED, data, campaign_id=campaign_id)


def lead_settled(lead: Lead) -> None:
    """A lead's attempt was settled: tell if it will not be called again."""
    if lead.state == Lead.State.DO_NOT_CALL:
        event_type = EventType.LEAD_DO_NOT_CALL
    elif lead.state in FINISHED_LEAD_STATES:
        event_type = EventType.LEAD_COMPLETED
    else:
        return
    outbox.emit(event_type, lambda: {"lead": lead_data(lead)}, campaign_id=lead.campaign_id)


def lead_failed(lead_id: int) -> None:
    lead = Lead.objects.select_related("customer").get(pk=lead_id)
    lead_settled(lead)


def import_finished(contact_import_id: int) -> None:
    contact_import = ContactImport.objects.get(pk=contact_import_id)

    def data():
        counts = {bucket: getattr(contact_import, bucket) for bucket in ContactImport.BUCKETS}
        return {"import": {
            "id": contact_import.pk, "campaign_id": contact_import.campaign_id,
            "file_name": contact_import.original_name, "status": contact_import.status,
            "error": contact_import.error, "rows": contact_import.rows_done, **counts,
            "finished_at": contact_import.finished_at,
        }}

    outbox.emit(EventType.IMPORT_FINISHED, data, campaign_id=contact_import.campaign_id,
                subject=f"import:{contact_import.pk}")
