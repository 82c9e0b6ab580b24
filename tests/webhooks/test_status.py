import random
from datetime import timedelta

import pytest
import redis
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.utils import timezone

from calls import status_stream
from calls.live import bot_group, campaign_group
from calls.models import Call, CallEvent
from calls.twilio_auth import CALLBACK_RETRIES
from campaigns.models import Campaign, Customer, Disposition, Lead
from tests.waiting import wait_until
from tests.webhooks.conftest import twilio_signature

pytestmark = pytest.mark.django_db

# A final callback has the lead settled once it is applied; tests of what settling does run
# the background side (the `worker` fixture), over committed rows, as `make run` does.
settles = pytest.mark.django_db(transaction=True)

SID = "CA" + "b" * 32


def callback(status, sequence, **extra):
    return {"CallSid": SID, "AccountSid": "AC" + "0" * 32, "From": "+12025550999",
            "To": "+12025550123", "Direction": "outbound-api", "CallStatus": status,
            "SequenceNumber": str(sequence), "Timestamp": f"Thu, 26 Nov 2026 15:00:0{sequence} +0000",
            "CallbackSource": "call-progress-events", **extra}


LIFE = [callback("initiated", 0), callback("ringing", 1), callback("in-progress", 2),
        callback("completed", 3, CallDuration="42", Duration="1", AnsweredBy="human")]


@pytest.fixture
def lead():
    campaign = Campaign.objects.create(name="Sale", caller_id="+12025550999", max_attempts=3,
                                       retry_delays_minutes=[10, 60])
    customer = Customer.objects.create(phone="+12025550123")
    return Lead.objects.create(campaign=campaign, customer=customer, state=Lead.State.IN_CALL, attempts=1)


@pytest.fixture
def call(lead):
    return Call.objects.create(direction=Call.Direction.OUTBOUND, call_sid=SID, lead=lead,
                               campaign=lead.campaign, customer=lead.customer, attempt=1)


def settled(lead):
    """The lead once the attempt its call was for is settled."""

    def refreshed():
        lead.refresh_from_db()
        return lead.state not in (Lead.State.DIALING, Lead.State.IN_CALL)

    wait_until(refreshed)
    return lead


def final_row(call):
    call.refresh_from_db()
    return (call.status, call.duration_seconds, call.answered_at, call.ended_at, call.answered_by,
            call.last_sequence_number, call.disposition)


@pytest.mark.parametrize("seed", range(5))
@settles
def test_shuffled_and_duplicated_callbacks_converge_on_one_final_state(twilio_post, call, lead, worker, seed):
    deliveries = LIFE + random.Random(seed).sample(LIFE, 3)
    random.Random(seed).shuffle(deliveries)
    for params in deliveries:
        assert twilio_post("/twilio/status/", params).status_code == 204
    settled(lead)

    status, duration, answered_at, ended_at, answered_by, sequence, disposition = final_row(call)
    assert status == "completed"
    assert duration == 42 and answered_by == "human" and sequence == 3
    assert answered_at.second == 2 and ended_at.second == 3
    assert disposition == Disposition.COMPLETED
    assert CallEvent.objects.filter(call=call).count() == len(deliveries)


def test_a_late_ringing_never_rolls_a_call_back(twilio_post, call):
    twilio_post("/twilio/status/", callback("in-progress", 2))
    twilio_post("/twilio/status/", callback("ringing", 1))
    call.refresh_from_db()
    assert call.status == "in-progress"


def test_a_first_callback_that_beats_the_rest_answer_finds_the_call_by_our_id(twilio_post, lead):
    call = Call.objects.create(direction=Call.Direction.OUTBOUND, lead=lead, attempt=1)
    response = twilio_post(f"/twilio/status/?call_id={call.pk}", callback("initiated", 0))
    assert response.status_code == 204
    call.refresh_from_db()
    assert call.call_sid == SID and call.status == "initiated"


@settles
def test_busy_schedules_a_retry_after_the_campaigns_delay(twilio_post, call, lead, worker):
    before = timezone.now()
    twilio_post("/twilio/status/", callback("busy", 1))
    settled(lead)
    assert lead.state == Lead.State.RETRY and lead.last_outcome == Disposition.BUSY
    assert before + timedelta(minutes=10) <= lead.next_attempt_at <= timezone.now() + timedelta(minutes=10)


@settles
def test_no_answer_on_the_last_attempt_fails_the_lead(twilio_post, call, lead, worker):
    Lead.objects.filter(pk=lead.pk).update(attempts=3)
    Call.objects.filter(pk=call.pk).update(attempt=3)
    twilio_post("/twilio/status/", callback("no-answer", 1))
    settled(lead)
    assert lead.state == Lead.State.FAILED and lead.last_outcome == Disposition.NO_ANSWER


@settles
def test_the_bots_verdict_given_during_the_call_settles_the_lead(twilio_post, call, lead, worker):
    from calls.dialer.settling import record_outcome

    callback_at = timezone.now() + timedelta(days=1)
    record_outcome(lead.pk, Disposition.CALLBACK_REQUESTED, "Call back tomorrow at ten", callback_at)
    lead.refresh_from_db()
    assert lead.state == Lead.State.IN_CALL  # the call is still live

    twilio_post("/twilio/status/", callback("completed", 3, CallDuration="30"))
    settled(lead)
    call.refresh_from_db()
    assert lead.state == Lead.State.RETRY and lead.next_attempt_at == callback_at
    assert call.disposition == Disposition.CALLBACK_REQUESTED


@settles
def test_a_callback_asked_for_as_the_call_ends_reopens_the_completed_campaign(
    twilio_post, call, lead, worker
):
    from calls.dialer.settling import record_outcome

    Campaign.objects.filter(pk=lead.campaign_id).update(status=Campaign.Status.RUNNING)
    twilio_post("/twilio/status/", callback("completed", 3, CallDuration="30"))
    settled(lead)
    lead.campaign.refresh_from_db()
    assert lead.campaign.status == Campaign.Status.COMPLETED  # the final callback came first

    callback_at = timezone.now() + timedelta(days=1)
    record_outcome(lead.pk, Disposition.CALLBACK_REQUESTED, "tomorrow at ten", callback_at)
    lead.refresh_from_db()
    lead.campaign.refresh_from_db()
    assert lead.state == Lead.State.RETRY and lead.next_attempt_at == callback_at
    assert lead.campaign.status == Campaign.Status.RUNNING  # so the callback will be dialled


@settles
def test_a_verdict_after_the_final_callback_still_counts(twilio_post, call, lead, worker):
    from calls.dialer.settling import record_outcome

    twilio_post("/twilio/status/", callback("completed", 3, CallDuration="30"))
    settled(lead)
    assert lead.state == Lead.State.DONE
    record_outcome(lead.pk, Disposition.DO_NOT_CALL, "Asked not to be called")
    lead.refresh_from_db()
    assert lead.state == Lead.State.DO_NOT_CALL
    assert lead.customer.do_not_call


@settles
def test_the_last_lead_finishing_completes_the_campaign(twilio_post, call, lead, worker):
    Campaign.objects.filter(pk=lead.campaign_id).update(status=Campaign.Status.RUNNING)
    twilio_post("/twilio/status/", callback("completed", 3, CallDuration="30"))
    settled(lead)
    lead.campaign.refresh_from_db()
    assert lead.campaign.status == Campaign.Status.COMPLETED


def test_each_change_reaches_the_campaigns_live_group(twilio_post, call, django_capture_on_commit_callbacks):
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(campaign_group(call.campaign_id), channel)
    with django_capture_on_commit_callbacks(execute=True):
        twilio_post("/twilio/status/", callback("ringing", 1))
    message = async_to_sync(layer.receive)(channel)
    assert message["type"] == "call.update"
    assert message["call"]["status"] == "ringing" and message["call"]["id"] == call.pk


@pytest.mark.parametrize("params", [
    {"CallSid": SID, "CallStatus": "exploded"},
    {"CallSid": SID, "CallStatus": "ringing", "SequenceNumber": "two"},
    {"CallStatus": "ringing"},
])
def test_a_malformed_callback_is_refused_and_changes_nothing(twilio_post, call, params):
    response = twilio_post("/twilio/status/", params)
    assert response.status_code == 400
    assert not CallEvent.objects.exists()
    call.refresh_from_db()
    assert call.status == "queued"


def test_a_forged_callback_changes_nothing(client, call):
    response = client.post("/twilio/status/", callback("completed", 3),
                           headers={"X-Twilio-Signature": "bm90IHR3aWxpbw=="})
    assert response.status_code == 403
    call.refresh_from_db()
    assert call.status == "queued" and not CallEvent.objects.exists()


def test_amd_records_the_machine_and_tells_the_live_bot(
    twilio_post, call, django_capture_on_commit_callbacks
):
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(bot_group(SID), channel)
    with django_capture_on_commit_callbacks(execute=True):
        response = twilio_post("/twilio/amd/", {"CallSid": SID, "AccountSid": "AC" + "0" * 32,
                                               "AnsweredBy": "machine_end_beep",
                                               "MachineDetectionDuration": "3100"})
    assert response.status_code == 204
    call.refresh_from_db()
    assert call.answered_by == "machine_end_beep"
    assert async_to_sync(layer.receive)(channel) == {"type": "amd.result", "answered_by": "machine_end_beep"}


@settles
def test_a_machine_that_hung_up_without_a_verdict_is_retried_as_voicemail(twilio_post, call, lead, worker):
    twilio_post("/twilio/amd/", {"CallSid": SID, "AnsweredBy": "machine_end_beep"})
    twilio_post("/twilio/status/", callback("completed", 3, CallDuration="20"))
    settled(lead)
    assert lead.last_outcome == Disposition.VOICEMAIL and lead.state == Lead.State.RETRY


def test_an_amd_result_that_beats_the_rest_answer_finds_the_call_by_our_id(twilio_post, lead):
    call = Call.objects.create(direction=Call.Direction.OUTBOUND, lead=lead, attempt=1)
    response = twilio_post(f"/twilio/amd/?call_id={call.pk}", {"CallSid": SID, "AnsweredBy": "human"})
    assert response.status_code == 204
    call.refresh_from_db()
    assert call.call_sid == SID and call.answered_by == "human"


def test_a_callback_signed_over_its_url_with_the_retry_fragment_is_accepted(twilio_post, call):
    params = callback("ringing", 1)
    signature = twilio_signature("/twilio/status/" + CALLBACK_RETRIES, params)
    assert twilio_post("/twilio/status/", params, signature=signature).status_code == 204
    call.refresh_from_db()
    assert call.status == "ringing"


def test_amd_for_an_unknown_call_is_404(twilio_post):
    response = twilio_post("/twilio/amd/", {"CallSid": "CA" + "c" * 32, "AnsweredBy": "human"})
    assert response.status_code == 404


# --- The stream between the webhook and the applier ----------------------------------------


def _queued_entries() -> int:
    return status_stream.backlog()["entries"]


def test_twilio_is_answered_at_once_and_the_applier_stores_the_callback(twilio_signed_enqueue, call):
    assert twilio_signed_enqueue(callback("ringing", 1)).status_code == 204
    call.refresh_from_db()
    assert call.status == "queued" and _queued_entries() == 1

    assert status_stream.Applier("test").apply_all_waiting() == 1
    call.refresh_from_db()
    assert call.status == "ringing" and CallEvent.objects.filter(call=call).count() == 1
    assert _queued_entries() == 0


def test_one_batch_of_shuffled_callbacks_for_many_calls_converges(twilio_signed_enqueue, lead):
    calls = [Call.objects.create(direction=Call.Direction.OUTBOUND, call_sid=f"CA{n:032x}", lead=lead,
                                 campaign=lead.campaign, attempt=1) for n in range(1, 6)]
    deliveries = [{**params, "CallSid": call.call_sid} for call in calls for params in LIFE + LIFE[:2]]
    random.Random(7).shuffle(deliveries)
    for params in deliveries:
        twilio_signed_enqueue(params)

    assert status_stream.Applier("test").apply_waiting() == len(deliveries)  # all in one batch
    for call in calls:
        call.refresh_from_db()
        assert (call.status, call.duration_seconds, call.last_sequence_number) == ("completed", 42, 3)
        assert call.disposition == Disposition.COMPLETED
    assert CallEvent.objects.count() == len(deliveries)
    lead.refresh_from_db()
    assert lead.state == Lead.State.DONE and lead.last_outcome == Disposition.COMPLETED


def test_callbacks_a_dead_applier_took_are_claimed_by_another(twilio_signed_enqueue, call):
    for params in LIFE[:3]:
        twilio_signed_enqueue(params)
    dead = status_stream.Applier("dead")
    dead.redis.xreadgroup(status_stream.GROUP, dead.name, {status_stream.stream(): ">"}, count=10)
    # … and died before applying them.

    assert status_stream.Applier("alive").apply_waiting() == 0  # not before they have waited a minute
    assert status_stream.Applier("rescuer", claim_idle_ms=0).apply_waiting() == 3
    call.refresh_from_db()
    assert call.status == "in-progress" and CallEvent.objects.filter(call=call).count() == 3
    assert _queued_entries() == 0


def test_an_entry_that_cannot_be_applied_is_set_aside_and_its_batch_still_stored(twilio_signed_enqueue, call):
    status_stream.Applier("test")  # makes the stream and its group
    raw = redis.Redis.from_url(settings.REDIS_URL)
    raw.xadd(status_stream.stream(), {"callback": "not json"})
    twilio_signed_enqueue(callback("ringing", 1))

    assert status_stream.Applier("test").apply_all_waiting() == 2
    call.refresh_from_db()
    assert call.status == "ringing"
    assert _queued_entries() == 0
    [(_, kept)] = raw.xrange(status_stream.dead_letters())
    assert kept[b"callback"] == b"not json" and b"JSONDecodeError" in kept[b"error"]


def test_with_redis_unreachable_the_webhook_applies_the_callback_itself(twilio_signed_enqueue, call,
                                                                       settings):
    settings.REDIS_URL = "redis://127.0.0.1:9/0"  # nothing listens there
    assert twilio_signed_enqueue(callback("ringing", 1)).status_code == 204
    call.refresh_from_db()
    assert call.status == "ringing" and CallEvent.objects.filter(call=call).count() == 1


def test_health_names_callbacks_nobody_applies_without_failing_the_web_process(staff_client, monkeypatch):
    client = staff_client
    monkeypatch.setattr("dialer_site.health._workers", lambda: "ok (1 answering)")
    assert client.get("/health/").json()["status_callbacks"] == "ok (0 waiting)"

    status_stream.Applier("test")
    redis.Redis.from_url(settings.REDIS_URL).xadd(status_stream.stream(), {"callback": "[]"}, id="1000-0")
    response = client.get("/health/")
    assert response.status_code == 200 and response.json()["status"] == "ok"
    assert response.json()["status_callbacks"].startswith("stalled: 1 status callbacks waiting")
