"""End to end: a campaign's call, dialled by a real Celery worker through the Twilio emulator,
talks with the lite bot in a real daphne process, which hands it to an agent — another of the
emulator's callees — over Twilio's REST API, <Dial> and <Conference>; status callbacks are
applied by the real applier, on the test PostgreSQL and Redis."""

import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime, time

import pytest

from calls.dialer.placing import place_call
from calls.models import Call, TranscriptLine, TransferAttempt
from calls.tasks import dispatch_campaign
from campaigns.calling_window import zone_where_it_is
from campaigns.models import Campaign, Disposition, DoNotCall, Lead
from tests import factory
from tests.botruntime.helpers import entries
from tests.transfers.conftest import AGENT_1 as AGENT
from tests.transfers.conftest import AGENT_2 as AGENT_AWAY
from tests.transfers.conftest import AGENT_BRIEFED, AGENT_DECLINES, AGENT_LEAVES_THE_BRIEFING, OUR_NUMBER
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

def hand_off_campaign(targets: list[str], **fields) -> Campaign:
    """The bot's own script: an interested lead is offered a specialist, and a yes transfers."""
    return factory.offers_campaign(
        caller_id=OUR_NUMBER, window_start=time(0, 0), window_end=time(23, 59),
        answering_machine_detection=False, transfer_targets=targets, agent_ring_timeout_secs=5,
        breaker_enabled=False, **fields)


def call_dana(campaign: Campaign, phone: str) -> Call:
    """Dana is in the running campaign's list; the worker dials her on the dispatcher's tick."""
    dana = factory.dana(phone, timezone=zone_where_it_is(13, datetime.now(UTC)))
    lead = factory.lead(campaign, dana)
    dispatch_campaign.delay(campaign.pk)
    return wait_until(lambda: Call.objects.filter(lead=lead).exclude(call_sid=None).first(), timeout=30)


def lines_of(call: Call) -> list[tuple[str, str]]:
    return list(TranscriptLine.objects.filter(call=call).values_list("speaker", "text"))


def agent_legs(emulator, agent: str) -> set[str]:
    return {leg["sid"] for leg in emulator.calls() if leg["to"] == agent}


def summarised(call: Call) -> Call | None:
    call.refresh_from_db()
    return call if call.summary and call.status in Call.FINAL_STATUSES else None


def assert_back_with_the_bot_who_booked_the_callback(call: Call) -> None:
    """Told 'please hold', then (nobody took her) the apology, and the callback she asked for."""
    lines = lines_of(call)
    apology = next((i for i, (speaker, text) in enumerate(lines)
                    if speaker == "bot" and "none of our specialists" in text), None)
    assert apology is not None, lines
    assert any("connect you" in text for speaker, text in lines[:apology] if speaker == "bot"), lines
    assert any("tomorrow" in text for speaker, text in lines[apology:] if speaker == "caller"), lines
    assert call.disposition == Disposition.CALLBACK_REQUESTED, lines
    assert Lead.objects.get(pk=call.lead_id).callback_at is not None


def test_an_interested_lead_is_put_through_to_the_agent_showing_our_number(product, emulator):
    call = call_dana(hand_off_campaign([AGENT]), "+12025550161")

    done = emulator.wait_for_status(call.call_sid, "completed", timeout=90)
    wait_until(lambda: summarised(call), timeout=20)

    (bridged,) = entries(done, "dial_bridged")
    assert (bridged["caller"], bridged["number"], bridged["caller_id"]) == ("+12025550161", AGENT, OUR_NUMBER)
    assert (call.disposition, call.transferred_to) == (Disposition.TRANSFERRED, AGENT)
    attempt = TransferAttempt.objects.get(call=call)
    assert (attempt.status, attempt.mode, attempt.requested_by) == ("answered", "cold", "bot")
    assert attempt.agent_call_sid and attempt.duration_secs is not None
    lines = lines_of(call)
    assert any("connect you" in text for speaker, text in lines if speaker == "bot"), lines
    lead = Lead.objects.get(pk=call.lead_id)
    wait_until(lambda: Lead.objects.get(pk=lead.pk).state == Lead.State.DONE, timeout=20)
    assert Lead.objects.get(pk=lead.pk).last_outcome == Disposition.TRANSFERRED


def test_when_the_agent_does_not_answer_the_bot_books_the_callback(product, emulator):
    call = call_dana(hand_off_campaign([AGENT_AWAY]), "+12025550162")

    emulator.wait_for_status(call.call_sid, "completed", timeout=120)
    wait_until(lambda: summarised(call), timeout=20)

    assert TransferAttempt.objects.get(call=call).status == "no_answer"
    assert_back_with_the_bot_who_booked_the_callback(call)


def test_outside_agent_hours_there_is_no_transfer_and_a_callback_is_offered(product, emulator):
    today = datetime.now(UTC).strftime("%a").lower()
    campaign = hand_off_campaign([AGENT], agent_timezone="UTC", agent_hours={today: ["00:00", "00:01"]})
    rung_before = agent_legs(emulator, AGENT)  # the emulator's calls outlive a test
    call = call_dana(campaign, "+12025550162")  # she asks to be called back when offered

    emulator.wait_for_status(call.call_sid, "completed", timeout=90)
    wait_until(lambda: summarised(call), timeout=20)

    assert not TransferAttempt.objects.filter(call=call).exists()
    assert agent_legs(emulator, AGENT) == rung_before
    assert not entries(emulator.get_call(call.call_sid), "dial")
    lines = lines_of(call)
    assert any("not available right now" in text for speaker, text in lines if speaker == "bot"), lines
    assert not any("Please hold" in text for _speaker, text in lines), lines  # asked before the hold line
    assert call.disposition == Disposition.CALLBACK_REQUESTED, lines


def test_warm_the_agent_hears_who_is_waiting_before_the_caller_is_joined(product, emulator):
    campaign = hand_off_campaign([AGENT_BRIEFED], transfer_mode=Campaign.TransferMode.WARM)
    call = call_dana(campaign, "+12025550161")

    emulator.wait_for_status(call.call_sid, "completed", timeout=120)
    wait_until(lambda: summarised(call), timeout=20)

    attempt = TransferAttempt.objects.get(call=call)
    agent = attempt.agent_call
    assert (agent.transfer_of, agent.to_number, agent.from_number) == (call, AGENT_BRIEFED, OUR_NUMBER)
    agent_leg = emulator.get_call(agent.call_sid)
    (heard,) = entries(agent_leg, "callee_heard")
    assert heard["matched"], heard
    assert (attempt.status, call.disposition, call.transferred_to) == (
        "answered", Disposition.TRANSFERRED, AGENT_BRIEFED)
    # The briefing played out on the agent's own stream (its last mark echoed, the stream ended)
    # before the agent entered the room where Dana was waiting; the speech check writes its
    # entry once it has decided, after the pause that follows the words.
    kinds = [e["kind"] for e in agent_leg["timeline"]["entries"]]
    (agent_joined,) = entries(agent_leg, "conference_join")
    before, after = kinds[:kinds.index("conference_join")], kinds[kinds.index("conference_join"):]
    assert {"mark_echoed", "stream_ended"} <= set(before) and "mark_echoed" not in after, kinds
    assert heard["t"] - heard["listened_seconds"] < agent_joined["t"], heard
    (dana_joined,) = entries(emulator.get_call(call.call_sid), "conference_join")
    assert dana_joined["at"] < agent_joined["at"]  # she held on in the room until then
    assert any("waiting" in text for speaker, text in lines_of(agent) if speaker == "bot")


def test_warm_when_the_first_agent_does_not_answer_the_second_takes_the_call(product, emulator):
    # The room reports to the statusCallback Dana entered it with: the first attempt's.
    campaign = hand_off_campaign([AGENT_AWAY, AGENT_BRIEFED], transfer_mode=Campaign.TransferMode.WARM)
    call = call_dana(campaign, "+12025550161")

    emulator.wait_for_status(call.call_sid, "completed", timeout=150)
    wait_until(lambda: summarised(call), timeout=20)

    first, second = TransferAttempt.objects.filter(call=call).order_by("pk")
    assert (first.target, first.status) == (AGENT_AWAY, "no_answer")
    assert (second.target, second.status) == (AGENT_BRIEFED, "answered")
    assert second.ended_at is not None
    assert (call.disposition, call.transferred_to) == (Disposition.TRANSFERRED, AGENT_BRIEFED)


@pytest.mark.parametrize(("agent_number", "attempt_status", "agent_status"), [
    (AGENT_DECLINES, "busy", Call.Status.BUSY),
    (AGENT_AWAY, "no_answer", Call.Status.NO_ANSWER),
    (AGENT_LEAVES_THE_BRIEFING, "hung_up_before_join", Call.Status.COMPLETED),
], ids=["declines", "never-answers", "hangs-up-during-the-briefing"])
def test_warm_when_the_agent_does_not_join_the_caller_is_back_with_the_bot_and_books_the_callback(
        product, emulator, agent_number, attempt_status, agent_status):
    campaign = hand_off_campaign([agent_number], transfer_mode=Campaign.TransferMode.WARM)
    call = call_dana(campaign, "+12025550162")  # she asks to be called back when offered

    done = emulator.wait_for_status(call.call_sid, "completed", timeout=150)
    wait_until(lambda: summarised(call), timeout=20)

    attempt = TransferAttempt.objects.get(call=call)
    agent = attempt.agent_call
    # The agent's leg is a Call of its own, linked to hers both ways.
    assert (agent.transfer_of, agent.to_number) == (call, agent_number)
    assert agent.call_sid == attempt.agent_call_sid
    assert list(call.agent_legs.all()) == [agent]
    assert (attempt.status, agent.status) == (attempt_status, agent_status)
    # She held in the conference, left it when nobody came, and was back on the bot's stream.
    kinds = [e["kind"] for e in done["timeline"]["entries"]]
    joined, left = kinds.index("conference_join"), kinds.index("conference_leave")
    assert joined < left < max(i for i, kind in enumerate(kinds) if kind == "stream_connected"), kinds
    assert_back_with_the_bot_who_booked_the_callback(call)


def test_a_caller_who_presses_1_is_put_through_to_the_agent(product, emulator):
    call = call_dana(hand_off_campaign([AGENT]), "+12025550163")

    done = emulator.wait_for_status(call.call_sid, "completed", timeout=90)
    wait_until(lambda: summarised(call), timeout=20)

    (pressed,) = entries(done, "callee_dtmf")
    (bridged,) = entries(done, "dial_bridged")
    assert pressed["digit"] == "1" and pressed["t"] < bridged["t"]
    assert (bridged["caller"], bridged["number"], bridged["caller_id"]) == ("+12025550163", AGENT, OUR_NUMBER)
    assert (call.disposition, call.transferred_to) == (Disposition.TRANSFERRED, AGENT)
    attempt = TransferAttempt.objects.get(call=call)
    assert (attempt.status, attempt.reason) == ("answered", "pressed 1 to talk to a person")
    lines = lines_of(call)
    assert ("caller", "[pressed 1]") in lines, lines


def test_a_caller_who_presses_9_is_never_called_again(product, emulator):
    campaign = hand_off_campaign([AGENT])
    call = call_dana(campaign, "+12025550164")

    done = emulator.wait_for_status(call.call_sid, "completed", timeout=90)
    wait_until(lambda: summarised(call), timeout=20)

    # The bot said goodbye and hung up: she did not have to (her script waits 60 s).
    assert done["duration"] is not None and int(done["duration"]) < 40, done
    assert "callee hung up" not in done["end_reason"], done["end_reason"]
    lines = lines_of(call)
    key = lines.index(("caller", "[pressed 9]"))
    said_after = " ".join(text for speaker, text in lines[key:] if speaker == "bot")
    assert "remove your number" in said_after and "Goodbye" in said_after, lines
    assert call.disposition == Disposition.DO_NOT_CALL
    assert DoNotCall.objects.listed("+12025550164")
    lead = Lead.objects.get(pk=call.lead_id)
    assert lead.state == Lead.State.DO_NOT_CALL

    # A dial of her lead claimed before the key was applied is refused as it goes out.
    rung_before = {leg["sid"] for leg in emulator.calls() if leg["to"] == "+12025550164"}
    later = factory.call(lead, call_sid=None, from_number=OUR_NUMBER)
    place_call(later.pk)
    later.refresh_from_db()
    assert later.dial_requested_at is None and later.call_sid is None
    assert "do-not-call list" in later.error_message
    assert {leg["sid"] for leg in emulator.calls() if leg["to"] == "+12025550164"} == rung_before
    assert Lead.objects.get(pk=lead.pk).state == Lead.State.DO_NOT_CALL


def test_a_forged_dial_action_is_refused_by_the_web_process(daphne):
    campaign = hand_off_campaign([AGENT])
    call = factory.answer(factory.call(factory.lead(campaign), from_number=OUR_NUMBER))
    attempt = TransferAttempt.objects.create(call=call, target=AGENT, mode="cold", requested_by="bot")
    body = urllib.parse.urlencode({"CallSid": call.call_sid, "DialCallStatus": "completed",
                                   "DialCallSid": "CA" + "e" * 32, "DialCallDuration": "30"}).encode()
    request = urllib.request.Request(f"{daphne.base_url}/twilio/dial/{attempt.pk}/", data=body,  # noqa: S310
                                     headers={"X-Twilio-Signature": "forged"})

    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)  # noqa: S310

    assert refused.value.code == 403
    attempt.refresh_from_db()
    call.refresh_from_db()
    assert (attempt.status, call.disposition, call.transferred_to) == ("ringing", "", "")
