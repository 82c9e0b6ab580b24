"""The product's store answers a bot session's hand-off (calls.transfers does the telephony)."""

from datetime import UTC, datetime

import pytest
from django.utils import timezone

from botruntime.store import Refusal
from calls.bot_store import DatabaseCallStore, call_context
from calls.models import TransferAttempt
from campaigns.models import Campaign, Lead
from tests import factory

pytestmark = pytest.mark.django_db
AGENT = "+12025550181"


def live_call(campaign: Campaign, phone: str = "+12025550123"):
    lead = factory.lead(campaign, factory.dana(phone), state=Lead.State.IN_CALL, attempts=1)
    return factory.answer(factory.call(lead, from_number="+12025550100"))


def test_a_session_knows_whether_its_campaign_can_hand_calls_to_a_person():
    plain = factory.offers_campaign()
    staffed = factory.offers_campaign(slug="staffed", caller_id="+12025550100", transfer_targets=[AGENT],
                                      transfer_unanswered=Campaign.TransferUnanswered.END_CALL_WITH_CALLBACK)

    assert not call_context(live_call(plain)).can_transfer
    context = call_context(live_call(staffed, "+12025550124"))
    assert context.can_transfer and context.transfer_unanswered == "end_call_with_callback"


def test_a_campaign_without_targets_answers_the_bot_no_transfer_targets():
    call = live_call(factory.offers_campaign())

    answer = DatabaseCallStore().transfer_call(call.pk, "asked for a person", "Wants a person.")

    assert (answer.started, answer.refusal) == (False, Refusal.NO_TRANSFER_TARGETS)


def test_outside_agent_hours_the_bot_is_told_when_the_agents_are_back():
    today = datetime.now(UTC).strftime("%a").lower()
    campaign = factory.offers_campaign(caller_id="+12025550100", transfer_targets=[AGENT],
                                       agent_timezone="UTC", agent_hours={today: ["00:00", "00:01"]})

    answer = DatabaseCallStore().transfer_call(live_call(campaign).pk, "interested in the offer", "")

    assert (answer.started, answer.refusal) == (False, Refusal.OUTSIDE_AGENT_HOURS)
    assert answer.agents_open_at > timezone.now()


def test_the_bot_hears_of_a_refusal_before_it_says_please_hold_and_nothing_starts():
    today = datetime.now(UTC).strftime("%a").lower()
    campaign = factory.offers_campaign(caller_id="+12025550100", transfer_targets=[AGENT],
                                       agent_timezone="UTC", agent_hours={today: ["00:00", "00:01"]})
    call = live_call(campaign)
    store = DatabaseCallStore()

    answer = store.transfer_refusal(call.pk)

    assert (answer.started, answer.refusal) == (False, Refusal.OUTSIDE_AGENT_HOURS)
    assert answer.agents_open_at > timezone.now() and not call.transfers.exists()
    campaign.agent_hours = {}
    campaign.save()
    assert store.transfer_refusal(call.pk) is None and not call.transfers.exists()


def test_a_session_learns_that_staff_took_its_call_over_since_it_began():
    staffed = factory.offers_campaign(slug="staffed", caller_id="+12025550100", transfer_targets=[AGENT])
    call = live_call(staffed)
    began = timezone.now()
    store = DatabaseCallStore()
    assert not store.taken_over(call.pk, began)

    refused = TransferAttempt.objects.create(call=call, target=AGENT, mode="cold", requested_by="boss",
                                             status=TransferAttempt.Status.FAILED)
    assert not store.taken_over(call.pk, began)  # Twilio refused it: the stream went on
    refused.delete()
    TransferAttempt.objects.create(call=call, target=AGENT, mode="cold", requested_by="boss")
    assert store.taken_over(call.pk, began)
    assert not store.taken_over(call.pk, timezone.now())  # a later session's: not handed over
