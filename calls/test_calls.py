"""Test calls: a staff member tries a campaign's bot before phoning anyone — "Call me" (the
bot phones a number, through Twilio or the emulator) or "Talk in the browser" (the browser's
microphone on the same bot session, nothing dialled).

A test call is a Call row with `test` set, no lead and no contact: the dialer, the lead
states, the campaign's figures, lists, exports and webhooks never count it
(`Call.objects.counted()`). A lead may lend its variables (name, list columns), copied
into the call's parameters, so the bot speaks as it would to that person."""

from __future__ import annotations

import uuid

from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone

from calls import live
from calls.dialer import now as dial_now
from calls.models import Call
from campaigns.models import Campaign, DoNotCall, Lead

# A browser session's stand-in for a CallSid (Twilio's start with CA): the bot session and
# its heartbeat find the call by it.
BROWSER_SID_PREFIX = "BT"


class Refused(Exception):
    """The test call may not be made; the message is for the staff member."""


def lead_of(campaign: Campaign, lead_id: str) -> Lead | None:
    """The campaign's lead with this id (as typed in a URL), to lend its variables."""
    if not lead_id.isdigit():
        return None
    return campaign.leads.select_related("customer").filter(pk=int(lead_id)).first()


def variables(campaign: Campaign, lead: Lead | None) -> dict[str, str]:
    """The <Parameter>s the bot gets: what a call to `lead` would carry (its list columns and
    contact fields), but no contact or lead id, so that nothing links the call to them."""
    ours = {"call_type": "outbound", "session_type": "sales", "test_call": "yes",
            "campaign_id": campaign.slug or str(campaign.pk)}
    if lead is None:
        return ours
    person = lead.customer
    fields = {"first_name": person.first_name, "last_name": person.last_name,
              "full_name": person.full_name, "customer_name": person.full_name,
              "email": person.email, "phone": person.phone}
    given = {**lead.parameters, **person.attributes, **fields}
    return {name: str(value) for name, value in given.items()} | ours


def call_me(campaign: Campaign, phone: str, lead: Lead | None, user: AbstractBaseUser) -> Call:
    """Phone `phone` (E.164) with the campaign's bot now, as a test call. The do-not-call list
    holds as for any call (checked again at the moment of dialling); no calling window does:
    the staff member chose the moment."""
    if not campaign.caller_id:
        raise Refused("The campaign has no caller ID to call from: set one under Edit.")
    if DoNotCall.objects.listed(phone):
        raise Refused(f"{phone} is on the do-not-call list: it is not called, not even for a test.")
    call = Call.objects.create(
        direction=Call.Direction.OUTBOUND, test=Call.Test.PHONE, tested_by=user, campaign=campaign,
        from_number=campaign.caller_id, to_number=phone, parameters=variables(campaign, lead),
    )
    return dial_now.call_now(call)


def browser_session(campaign: Campaign, lead: Lead | None, user: AbstractBaseUser) -> Call:
    """The row of a browser test session: answered at once, nothing dialled."""
    return Call.objects.create(
        direction=Call.Direction.OUTBOUND, test=Call.Test.BROWSER, tested_by=user, campaign=campaign,
        call_sid=f"{BROWSER_SID_PREFIX}{uuid.uuid4().hex}", answered_at=timezone.now(),
        parameters=variables(campaign, lead),
    )


def end_browser_session(call_id: int) -> None:
    """The browser's socket closed: the session's call is over (no Twilio to say so)."""
    call = Call.objects.filter(pk=call_id, test=Call.Test.BROWSER).first()
    if call is None or not call.move_to(Call.Status.COMPLETED):
        return
    call.ended_at = timezone.now()
    call.duration_seconds = round((call.ended_at - (call.answered_at or call.created_at)).total_seconds())
    call.save(update_fields=["status", "ended_at", "duration_seconds"])
    live.publish_call(call)
