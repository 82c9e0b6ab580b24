"""Plain-Python builders for dashboard tests (and the browser flow): each makes one row
with sensible defaults; pass fields to override."""

import itertools

from django.utils import timezone

from calls.models import Call, CallEvent, TranscriptLine
from campaigns.models import Campaign, Customer, Lead

_numbers = itertools.count(1)


def campaign(**fields) -> Campaign:
    fields.setdefault("name", "Summer sale")
    fields.setdefault("caller_id", "+12025550100")
    return Campaign.objects.create(**fields)


def customer(**fields) -> Customer:
    n = next(_numbers)
    fields.setdefault("phone", f"+1202555{n:04d}")
    fields.setdefault("first_name", f"Ada{n}")
    fields.setdefault("last_name", "Lovelace")
    return Customer.objects.create(**fields)


def lead(in_campaign: Campaign, **fields) -> Lead:
    fields.setdefault("customer", fields.get("customer") or customer())
    return Lead.objects.create(campaign=in_campaign, **fields)


def call(for_lead: Lead | None = None, **fields) -> Call:
    if for_lead is not None:
        fields.setdefault("campaign", for_lead.campaign)
        fields.setdefault("customer", for_lead.customer)
        fields.setdefault("lead", for_lead)
        fields.setdefault("to_number", for_lead.customer.phone)
    fields.setdefault("direction", Call.Direction.OUTBOUND)
    fields.setdefault("call_sid", f"CA{next(_numbers):032x}")
    return Call.objects.create(**fields)


def answer(a_call: Call) -> Call:
    a_call.status = Call.Status.IN_PROGRESS
    a_call.answered_at = timezone.now()
    a_call.answered_by = "human"
    a_call.save(update_fields=["status", "answered_at", "answered_by"])
    CallEvent.objects.create(call=a_call, call_status="in-progress", sequence_number=2, params={})
    return a_call


def line(a_call: Call, speaker: str, text: str, offset_ms: int) -> TranscriptLine:
    return TranscriptLine.objects.create(call=a_call, speaker=speaker, text=text, offset_ms=offset_ms)
