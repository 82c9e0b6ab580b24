"""The caller back with the bot after a hand-off no agent took: the call's second media
stream is accepted (only then), and its session continues the call's transcript; a session
that ended because the call was handed over records no hang-up."""

import wave
from datetime import timedelta

import pytest
from django.utils import timezone

from botruntime.store import UnknownCall
from calls.bot_store import DatabaseCallStore
from calls.dialer import reaper
from calls.models import TransferAttempt
from calls.transfers import request_transfer
from campaigns.models import Disposition
from tests import factory
from tests.transfers.conftest import AGENT_1, refreshed

pytestmark = pytest.mark.django_db
SECOND_STREAM = "MZ" + "2" * 32


def unanswered(call, status=TransferAttempt.Status.NO_ANSWER):
    return TransferAttempt.objects.create(call=call, target=AGENT_1, mode="cold", requested_by="bot",
                                          status=status)


def resume(call, **parameters):
    return DatabaseCallStore().link_call(call.call_sid, SECOND_STREAM, {
        "call_id": str(call.pk), "resume": "agent_unavailable", **parameters})


def test_the_caller_back_from_an_unanswered_hand_off_gets_a_new_session_of_the_same_call(live_call):
    factory.line(live_call, "bot", "Let me put you through.", 9000)
    live_call.summary = "Dana was interested."
    live_call.save()
    unanswered(live_call)

    store = DatabaseCallStore()
    context = store.link_call(live_call.call_sid, SECOND_STREAM,
                              {"call_id": str(live_call.pk), "resume": "agent_unavailable"})
    store.add_transcript_line(live_call.pk, "bot", "Sorry, nobody could take the call.", 0)

    assert context.call_id == live_call.pk and context.parameters["resume"] == "agent_unavailable"
    assert context.lead_id == live_call.lead_id
    call = refreshed(live_call)
    assert call.stream_sid == SECOND_STREAM
    assert call.summary == ""  # the new session stores the whole call's summary again
    assert [text for _, text in store.transcript_lines(call.pk)] == [
        "Let me put you through.", "Sorry, nobody could take the call."]


def test_a_second_stream_without_an_unanswered_hand_off_is_refused(live_call):
    with pytest.raises(UnknownCall):
        resume(live_call)
    with pytest.raises(UnknownCall):  # an agent is still being rung
        unanswered(live_call, TransferAttempt.Status.RINGING)
        resume(live_call)
    assert refreshed(live_call).stream_sid == "MZ" + "1" * 32


def test_a_second_stream_that_does_not_say_it_resumes_is_refused(live_call):
    unanswered(live_call)
    with pytest.raises(UnknownCall):
        DatabaseCallStore().link_call(live_call.call_sid, SECOND_STREAM, {"call_id": str(live_call.pk)})


def test_the_session_that_ended_because_the_call_was_handed_over_records_no_hang_up(live_call):
    live_call.disposition = Disposition.INTERESTED
    live_call.save()
    unanswered(live_call, TransferAttempt.Status.RINGING)

    DatabaseCallStore().finish_call(live_call.pk, disposition=Disposition.HUNG_UP, notes="", summary="s",
                                    metrics={}, recording=None)

    assert refreshed(live_call).disposition == Disposition.INTERESTED


def test_an_agent_who_took_the_call_stays_its_outcome(live_call):
    live_call.disposition, live_call.transferred_to = Disposition.TRANSFERRED, AGENT_1
    live_call.save()

    DatabaseCallStore().finish_call(live_call.pk, disposition=Disposition.INTERESTED, notes="", summary="s",
                                    metrics={}, recording=None)

    assert refreshed(live_call).disposition == Disposition.TRANSFERRED


def test_a_resumed_sessions_recording_follows_the_first(live_call, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    first = DatabaseCallStore()
    first.finish_call(live_call.pk, disposition="", notes="", summary="s", metrics={},
                      recording=(b"\x01\x00" * 8000, 8000, 1))
    unanswered(live_call)
    store = DatabaseCallStore()
    store.link_call(live_call.call_sid, SECOND_STREAM,
                    {"call_id": str(live_call.pk), "resume": "agent_unavailable"})

    store.finish_call(live_call.pk, disposition="", notes="", summary="s2", metrics={},
                      recording=(b"\x02\x00" * 4000, 8000, 1))

    with refreshed(live_call).recording.open("rb") as file, wave.open(file) as wav:
        frames = wav.readframes(wav.getnframes())
    assert frames == b"\x01\x00" * 8000 + b"\x02\x00" * 4000


def test_a_call_ringing_an_agent_without_its_stream_is_not_taken_for_dead(twilio, live_call, settings):
    """Its media stream ended for the hand-off, so it shows no life: the reaper asks Twilio,
    which says it is in progress, and it stays so (no failure, no hang-up, no settling)."""
    assert request_transfer(live_call.pk, reason="interested", summary="").started
    live_call.last_heard_at = timezone.now() - timedelta(minutes=5)
    live_call.save(update_fields=["last_heard_at"])

    assert reaper.reap()["fetched"] == 1

    call = refreshed(live_call)
    assert call.status == "in-progress" and call.ended_at is None and call.disposition == ""
    assert call.last_heard_at > timezone.now() - timedelta(seconds=10)
    assert call.transfers.get().status == "ringing"
