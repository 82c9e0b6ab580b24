"""Plain-Python builders for the bot tests' rows."""

from calls.models import Call
from campaigns.models import Campaign, Customer, Lead


def campaign(**fields) -> Campaign:
    defaults = {"name": "Summer Offers", "slug": "offers", "status": Campaign.Status.RUNNING}
    return Campaign.objects.create(**{**defaults, **fields})


def customer(phone: str, **fields) -> Customer:
    defaults = {"first_name": "Dana", "last_name": "Reyes"}
    return Customer.objects.create(phone=phone, **{**defaults, **fields})


def outbound_call(campaign: Campaign, customer: Customer) -> Call:
    lead = Lead.objects.create(campaign=campaign, customer=customer, state=Lead.State.IN_CALL)
    return Call.objects.create(
        direction=Call.Direction.OUTBOUND, campaign=campaign, customer=customer, lead=lead,
        from_number="+15005550100", to_number=customer.phone, status=Call.Status.QUEUED,
    )
