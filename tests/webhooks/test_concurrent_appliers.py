"""Two status-callback appliers working at once never deadlock: they lock calls in id order,
also when a call they were about to create was created by someone else meanwhile."""

import threading

import pytest
from django.db import connection, transaction

from calls.models import Call
from calls.status import StatusCallback, apply_status_callbacks
from tests.waiting import sessions_waiting_on_a_lock, wait_until

pytestmark = pytest.mark.django_db(transaction=True)
SID_OURS = "CA" + "1" * 32  # our outbound call, whose CallSid is being stored right now
SID_NEW = "CA" + "2" * 32  # a call we never placed: both appliers create it


def ringing(sid: str, hint: int | None = None) -> StatusCallback:
    params = {"CallSid": sid, "CallStatus": "ringing", "SequenceNumber": 1}
    return StatusCallback(params, {"CallSid": sid, "CallStatus": "ringing"}, str(hint) if hint else None)


def test_two_appliers_that_both_create_a_call_never_deadlock():
    ours = Call.objects.create(direction=Call.Direction.OUTBOUND, to_number="+12025550111")
    errors, release, stored = [], threading.Event(), threading.Event()

    def in_thread(work):
        def run():
            try:
                work()
            except Exception as error:  # the assertion below names it
                errors.append(error)
            finally:
                connection.close()
        thread = threading.Thread(target=run)
        thread.start()
        return thread

    def dialer_storing_the_sid():  # as place_call does once Twilio answers
        with transaction.atomic():
            Call.objects.filter(pk=ours.pk).update(call_sid=SID_OURS)
            stored.set()
            release.wait(timeout=20)

    dialer = in_thread(dialer_storing_the_sid)
    assert stored.wait(timeout=10)
    # One applier knows neither call yet: it creates the new one, then waits to create "ours".
    first = in_thread(lambda: apply_status_callbacks([ringing(SID_NEW), ringing(SID_OURS)]))
    wait_until(lambda: sessions_waiting_on_a_lock() == 1, timeout=10)
    # The other finds ours by its id hint (waiting for the dialer), then needs the new one.
    second = in_thread(lambda: apply_status_callbacks([ringing(SID_OURS, ours.pk), ringing(SID_NEW)]))
    wait_until(lambda: sessions_waiting_on_a_lock() == 2, timeout=10)
    release.set()
    for thread in (dialer, first, second):
        thread.join(timeout=30)
    assert errors == []
    assert sorted(Call.objects.values_list("call_sid", "status")) == [
        (SID_OURS, "ringing"), (SID_NEW, "ringing")]
    assert Call.objects.get(call_sid=SID_OURS).pk == ours.pk
