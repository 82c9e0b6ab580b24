"""The event catalogue: which change writes which event, in the change's own transaction,
to which endpoints."""

import io
import json
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from calls import status
from calls.bot_store import DatabaseCallStore
from calls.dialer import placing, reaper, settling
from calls.models import Call, TranscriptLine
from calls.recording_links import recording_link
from campaigns import lifecycle
from campaigns.imports import service as contact_import
from campaigns.models import Campaign, Disposition, DoNotCall, Lead
from campaigns.webhooks import delivery
from campaigns.webhooks.models import Delivery, Event
from tests.outbound_webhooks.conftest import end_call, subscribe

pytestmark = pytest.mark.django_db
CRM = "https://crm.example.com/hooks"
store = DatabaseCallStore()


def sent(event_type: str) -> list[dict]:
    return [json.loads(e.body) for e in Event.objects.filter(type=event_type).order_by("created_at")]


def test_a_campaign_paused_tells_its_previous_and_new_status(campaign):
    subscribe(CRM, "campaign.status_changed")
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.RUNNING)
    lifecycle.pause(campaign, "Lunch break")
    [body] = sent("campaign.status_changed")
    assert body["type"] == "campaign.status_changed" and body["timestamp"]
    assert body["data"]["previous_status"] == "running"
    assert body["data"]["campaign"] | {"id": None} == {
        "id": None,
        "slug": "summer_sale",
        "name": "Summer sale",
        "status": "paused",
        "status_reason": "Lunch break",
    }


def test_a_refused_transition_writes_no_event(campaign):
    subscribe(CRM, "campaign.status_changed")
    with pytest.raises(lifecycle.TransitionError):
        lifecycle.resume(campaign)
    assert not Event.objects.exists()


def test_an_event_is_written_only_if_its_change_commits(campaign):
    subscribe(CRM, "campaign.status_changed")
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.RUNNING)
    with pytest.raises(RuntimeError), transaction.atomic():
        lifecycle.pause(campaign)
        raise RuntimeError("the surrounding work failed")
    assert not Event.objects.exists()
    assert Campaign.objects.get().status == Campaign.Status.RUNNING


def test_a_lead_with_no_more_attempts_is_completed_with_its_variables(lead):
    subscribe(CRM, "lead.completed", "lead.do_not_call")
    end_call(lead)
    [body] = sent("lead.completed")
    assert body["data"]["lead"]["state"] == "done" and body["data"]["lead"]["last_outcome"] == "completed"
    assert body["data"]["lead"]["variables"] == {"plan": "gold"}
    assert body["data"]["lead"]["customer"]["phone"] == "+12025550111"


def test_a_lead_waiting_for_a_retry_is_not_completed(lead):
    subscribe(CRM, "lead.completed")
    call = Call.objects.create(
        direction="outbound", campaign=lead.campaign, lead=lead, call_sid="CA" + "3" * 32
    )
    status.apply_status_callbacks(
        [status.StatusCallback({"CallSid": call.call_sid, "CallStatus": "busy"}, {})]
    )
    assert Lead.objects.get().state == Lead.State.RETRY
    assert not Event.objects.exists()


def test_a_lead_who_asks_not_to_be_called_again(lead):
    subscribe(CRM, "lead.do_not_call")
    Lead.objects.filter(pk=lead.pk).update(state=Lead.State.DONE)
    settling.record_outcome(lead.pk, Disposition.DO_NOT_CALL, "Please stop calling")
    [body] = sent("lead.do_not_call")
    assert (
        body["data"]["lead"]["state"] == "do_not_call"
        and body["data"]["lead"]["notes"] == "Please stop calling"
    )


def test_a_call_the_bot_spoke_on_ends_once_its_summary_is_stored(lead):
    subscribe(CRM, "call.started", "call.ended")
    context = store.link_call("CA" + "4" * 32, "MZ" + "4" * 32, {"call_id": ""})
    call = Call.objects.get(pk=context.call_id)
    assert [b["data"]["call"]["id"] for b in sent("call.started")] == [call.pk]
    TranscriptLine.objects.create(call=call, speaker="bot", text="Hello Ann!", offset_ms=10)
    status.apply_status_callbacks(
        [status.StatusCallback({"CallSid": call.call_sid, "CallStatus": "completed", "CallDuration": 9}, {})]
    )
    assert sent("call.ended") == []  # the session has not stored the outcome yet
    store.finish_call(
        call.pk,
        disposition="interested",
        notes="",
        summary="Wants gold.",
        metrics={},
        recording=(b"\0\0" * 800, 8000, 1),
    )
    [body] = sent("call.ended")
    ended = body["data"]["call"]
    assert ended["outcome"] == "interested" and ended["summary"] == "Wants gold."
    assert ended["transcript"] == [{"speaker": "bot", "text": "Hello Ann!", "offset_ms": 10}]
    assert ended["recording_url"].startswith("https://dialer.example.com/calls/recordings/")
    status.apply_status_callbacks(
        [status.StatusCallback({"CallSid": call.call_sid, "CallStatus": "completed"}, {})]
    )
    assert len(sent("call.ended")) == 1 and len(sent("call.started")) == 1


def test_the_recording_link_works_without_a_login_and_a_forged_one_does_not(client, lead):
    subscribe(CRM, "call.ended")
    call = end_call(lead)
    store.finish_call(
        call.pk, disposition="", notes="", summary="", metrics={}, recording=(b"\1\0" * 80, 8000, 1)
    )
    link = json.loads(Event.objects.get().body)["data"]["call"]["recording_url"]
    assert link is None  # ended before any recording existed
    path = recording_link(Call.objects.get()).removeprefix("https://dialer.example.com")
    response = client.get(path)
    assert response.status_code == 200 and response["Content-Type"] == "audio/x-wav"
    assert client.get(path[:-3] + "xyz/").status_code == 404


def test_an_import_finishing_is_told_with_its_counts(campaign):
    subscribe(CRM, "import.finished")
    upload = io.BytesIO(b"phone,first_name\n+12025550111,Ann\nnot-a-number,Bob\n")
    upload.name = "list.csv"
    imported = contact_import.create_import(upload, campaign)
    contact_import.confirm(
        imported, {"phone": 0, "first_name": 1}, default_country="US", existing="update", duplicates="first"
    )
    contact_import.run_import(imported.pk)
    [body] = sent("import.finished")
    assert body["data"]["import"] | {"id": 0, "finished_at": None} == {
        "id": 0,
        "campaign_id": campaign.pk,
        "file_name": "list.csv",
        "status": "done",
        "error": "",
        "rows": 2,
        "imported": 1,
        "updated": 0,
        "kept": 0,
        "duplicate": 0,
        "do_not_call": 0,
        "invalid": 1,
        "finished_at": None,
    }


def test_endpoints_get_only_the_events_and_campaigns_they_asked_for(campaign, lead):
    other = Campaign.objects.create(name="Winter sale")
    everything = subscribe(CRM, "lead.completed")
    this_campaign = subscribe(CRM + "/summer", "lead.completed", campaign=campaign)
    other_campaign = subscribe(CRM + "/winter", "lead.completed", campaign=other)
    not_leads = subscribe(CRM + "/calls", "call.ended")
    end_call(lead)
    [event] = Event.objects.filter(type="lead.completed")
    assert {d.endpoint for d in event.deliveries.all()} == {everything, this_campaign}
    assert not other_campaign.deliveries.exists()
    assert not_leads.deliveries.filter(event__type="lead.completed").count() == 0


def test_nothing_is_written_when_no_endpoint_listens(lead):
    end_call(lead)
    assert not Event.objects.exists()


def test_old_events_nothing_waits_for_are_purged_after_30_days(lead):
    subscribe(CRM, "lead.completed")
    end_call(lead)
    Delivery.objects.update(state=Delivery.State.DELIVERED)
    assert delivery.purge(now=timezone.now() + timedelta(days=29)) == 0
    assert delivery.purge(now=timezone.now() + timedelta(days=31)) == 2  # the event and its delivery
    assert not Event.objects.exists()


def test_an_event_still_being_delivered_is_kept(lead):
    subscribe(CRM, "lead.completed")
    end_call(lead)
    assert delivery.purge(now=timezone.now() + timedelta(days=31)) == 0


def test_a_call_whose_bot_session_died_before_its_summary_still_ends_once(lead):
    subscribe(CRM, "call.ended")
    context = store.link_call("CA" + "5" * 32, "MZ" + "5" * 32, {"call_id": ""})
    call = Call.objects.get(pk=context.call_id)
    store.set_disposition(call.pk, "interested", "Wants gold.")
    status.apply_status_callbacks(
        [status.StatusCallback({"CallSid": call.call_sid, "CallStatus": "completed", "CallDuration": 9}, {})]
    )
    reaper.reap()
    assert sent("call.ended") == []  # the session may still be storing its summary
    later = timezone.now() + reaper.UNKNOWN_DIAL_GRACE + timedelta(seconds=5)
    reaper.reap(now=later)
    [body] = sent("call.ended")
    ended = body["data"]["call"]
    assert ended["id"] == call.pk and ended["status"] == "completed" and ended["outcome"] == "interested"
    assert ended["summary"] == "No summary: the bot's session ended before it stored one."
    reaper.reap(now=later)
    assert len(sent("call.ended")) == 1


def test_a_dial_refused_before_it_reached_twilio_ends_with_the_reason(lead):
    subscribe(CRM, "call.ended")
    Campaign.objects.filter(pk=lead.campaign_id).update(status=Campaign.Status.RUNNING)
    Lead.objects.filter(pk=lead.pk).update(state=Lead.State.DIALING, attempts=1)
    call = Call.objects.create(direction="outbound", campaign=lead.campaign, lead=lead,
                               customer=lead.customer, to_number=lead.customer.phone,
                               from_number="+12025550100")
    DoNotCall.objects.add([lead.customer.phone], "Asked by email")
    placing.place_call(call.pk)
    placing.place_call(call.pk)  # the task delivered again
    [body] = sent("call.ended")
    ended = body["data"]["call"]
    assert ended["id"] == call.pk and ended["status"] == "failed" and ended["call_sid"] is None
    assert "do-not-call list" in ended["error_message"]
