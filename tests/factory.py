"""The tests' rows, made by plain functions: each makes one row with defaults a reader
recognises, and any field can be overridden by name.

The people are personas that recur across the suite: Alice, staff, who runs the campaigns;
Bob, signed in but not staff; Dana Reyes, whom the bot tests call for "Summer Offers"; and
numbered contacts (Ada1 Lovelace, Ada2 …) wherever the person does not matter."""

import itertools

from django.contrib.auth.models import User
from django.utils import timezone

from calls.models import Call, CallEvent, TranscriptLine
from campaigns.models import Campaign, Customer, DoNotCall, Lead

_numbers = itertools.count(1)


# --- People who sign in --------------------------------------------------------------


def staff() -> User:
    """Alice runs the campaigns."""
    return User.objects.create_user("alice", "alice@example.com", "pw-alice-123", is_staff=True)


def superuser(username: str = "root", password: str = "pw-root-123") -> User:
    """Root administers the site; the browser tests sign in as "boss", also a superuser."""
    return User.objects.create_superuser(username, f"{username}@example.com", password)


def stranger() -> User:
    """Bob has a login, but he is not staff."""
    return User.objects.create_user("bob", "bob@example.com", "pw-bob-12345")


# --- Campaigns and the people they call --------------------------------------------------


def campaign(**fields) -> Campaign:
    """A draft "Summer sale" calling from +12025550100."""
    fields.setdefault("name", "Summer sale")
    fields.setdefault("caller_id", "+12025550100")
    return Campaign.objects.create(**fields)


def offers_campaign(**fields) -> Campaign:
    """The running campaign the bot tests call for. Its calls open with the greeting alone:
    the notices said before it (on by default) have tests of their own."""
    return Campaign.objects.create(**{"name": "Summer Offers", "slug": "offers", "ai_disclosure": "",
                                      "recording_notice": "", "status": Campaign.Status.RUNNING, **fields})


def customer(phone: str | None = None, **fields) -> Customer:
    """A contact, numbered +1202555nnnn (Ada<n> Lovelace) unless told otherwise."""
    n = next(_numbers)
    fields.setdefault("first_name", f"Ada{n}")
    fields.setdefault("last_name", "Lovelace")
    return Customer.objects.create(phone=phone or f"+1202555{n:04d}", **fields)


def dana(phone: str, **fields) -> Customer:
    """Dana Reyes, whom the bot greets by name."""
    return Customer.objects.create(phone=phone, **{"first_name": "Dana", "last_name": "Reyes", **fields})


def lead(in_campaign: Campaign, person: Customer | None = None, **fields) -> Lead:
    """The person (also as customer=…) in the campaign; a new numbered contact if none is given."""
    person = person or fields.pop("customer", None) or customer()
    return Lead.objects.create(campaign=in_campaign, customer=person, **fields)


def do_not_call(phone: str, **fields) -> DoNotCall:
    return DoNotCall.objects.create(phone=phone, **fields)


# --- Calls -------------------------------------------------------------------------------


def call(for_lead: Lead | None = None, **fields) -> Call:
    """An outbound call, already given a CallSid (pass call_sid=None for one not yet dialled)."""
    if for_lead is not None:
        fields.setdefault("campaign", for_lead.campaign)
        fields.setdefault("customer", for_lead.customer)
        fields.setdefault("lead", for_lead)
        fields.setdefault("to_number", for_lead.customer.phone)
    fields.setdefault("direction", Call.Direction.OUTBOUND)
    fields.setdefault("call_sid", f"CA{next(_numbers):032x}")
    return Call.objects.create(**fields)


def outbound_call(in_campaign: Campaign, person: Customer) -> Call:
    """What a bot session starts from: a lead in call and its queued call, not yet linked."""
    return Call.objects.create(
        direction=Call.Direction.OUTBOUND, campaign=in_campaign, customer=person,
        lead=lead(in_campaign, person, state=Lead.State.IN_CALL),
        from_number="+15005550100", to_number=person.phone, status=Call.Status.QUEUED,
    )


def answer(a_call: Call) -> Call:
    a_call.status = Call.Status.IN_PROGRESS
    a_call.answered_at = timezone.now()
    a_call.answered_by = "human"
    a_call.save(update_fields=["status", "answered_at", "answered_by"])
    CallEvent.objects.create(call=a_call, call_status="in-progress", sequence_number=2, params={})
    return a_call


def line(a_call: Call, speaker: str, text: str, offset_ms: int) -> TranscriptLine:
    return TranscriptLine.objects.create(call=a_call, speaker=speaker, text=text, offset_ms=offset_ms)
