"""Routing a call that comes in to one of our numbers to the right bot.

The caller is matched by number to a customer; the campaign by the number they dialled
(a campaign's caller ID, or a number of its caller-ID pool) or else by the customer's most
recent campaign — the person is returning a missed campaign call and reaches the same bot,
which knows them."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q

from calls import live
from calls.models import Call
from campaigns.models import Campaign, Customer, Lead
from campaigns.phones import to_e164


def _caller(from_number: str) -> Customer | None:
    try:
        return Customer.objects.filter(phone=to_e164(from_number)).first()
    except ValidationError:
        return None  # withheld or malformed caller ID: an unknown caller


def _campaign_for(to_number: str, customer: Customer | None) -> tuple[Campaign | None, Lead | None]:
    campaign = (
        Campaign.objects.filter(Q(caller_id=to_number) | Q(caller_numbers__phone_number=to_number))
        .exclude(status=Campaign.Status.CANCELLED)
        .order_by("-updated_at")
        .first()
    )
    lead = None
    if customer:
        leads = Lead.objects.filter(customer=customer).select_related("campaign")
        lead = (leads.filter(campaign=campaign) if campaign else leads).order_by("-updated_at").first()
        campaign = campaign or (lead.campaign if lead else None)
    return campaign, lead


def bot_parameters(call: Call) -> dict[str, str]:
    """The <Parameter>s the bot reads from the stream's start message."""
    customer, campaign = call.customer, call.campaign
    # The contact list's own columns first, so they can never shadow ours.
    parameters = {k: str(v) for k, v in call.lead.parameters.items()} if call.lead_id else {}
    parameters |= {
        "call_type": "inbound",
        "caller_id": call.from_number,
        "session_type": "sales" if campaign else ("support" if customer else "general"),
    }
    if customer:
        parameters |= {
            "customer_id": str(customer.pk),
            "customer_name": customer.full_name,
            "user_id": str(customer.attributes.get("user_id", customer.pk)),
        }
    if campaign:
        parameters["campaign_id"] = campaign.slug or str(campaign.pk)
    if call.lead_id:
        parameters["callback"] = "true"
    return parameters


def route_inbound_call(call_sid: str, from_number: str, to_number: str) -> Call:
    """Create the inbound Call row and route it — or reuse it when Twilio retries the
    webhook, or when a status callback for the call got here first and made a bare row."""
    with transaction.atomic():
        call = Call.objects.select_for_update().filter(call_sid=call_sid).first()
        if call and call.parameters:
            return call  # already routed
        customer = _caller(from_number)
        campaign, lead = _campaign_for(to_number, customer)
        try:
            with transaction.atomic():
                if call is None:
                    call = Call(direction=Call.Direction.INBOUND, call_sid=call_sid)
                    call.move_to(Call.Status.RINGING)
                    call.save()
        except IntegrityError:  # the same webhook delivered twice at once: the other one routes it
            return Call.objects.get(call_sid=call_sid)
        call.from_number, call.to_number = from_number, to_number
        call.customer, call.campaign, call.lead = customer, campaign, lead
        call.parameters = bot_parameters(call)
        call.save(update_fields=["from_number", "to_number", "customer", "campaign", "lead", "parameters"])
        live.publish_call(call)
    return call
