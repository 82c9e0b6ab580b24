"""SIGTERM drains a web process: no new streams, its calls finish normally, then it exits."""

import json
import signal

import pytest

from calls.models import TranscriptLine
from tests import factory
from tests.waiting import wait_until
from tests.web.conftest import dial
from tests.web.test_admission import beat_of, live_streams, stored, upgrade_status

pytestmark = pytest.mark.django_db(transaction=True)


def test_sigterm_mid_call_lets_the_call_complete_refuses_new_streams_then_exits(web_process, emulator):
    web = web_process()
    call = factory.outbound_call(factory.offers_campaign(), factory.dana("+12025550141"))
    sid = dial(emulator, web.stream_url, call)
    wait_until(lambda: live_streams(web) == 1, timeout=20)

    web.process.send_signal(signal.SIGTERM)

    wait_until(lambda: "SIGTERM: draining" in web.log(), timeout=5)
    status, body = web.get("/health/")
    assert (status, json.loads(body)["status"]) == (503, "draining")
    assert upgrade_status(web) == 503
    assert beat_of(web).draining
    assert web.process.poll() is None  # still holding the call

    emulator.wait_for_status(sid, "completed", timeout=60)
    call = wait_until(lambda: stored(call), timeout=20)
    assert call.disposition == "do_not_call"
    assert TranscriptLine.objects.filter(call=call, speaker="bot").count() >= 2  # greeting and goodbye
    assert call.metrics["end_reason"]  # the bot ended it, not the shutdown

    assert web.process.wait(timeout=15) == 0
    assert "Drained: no call left; exiting" in web.log()
    assert beat_of(web) is None  # gone from Redis at once, not after its beat lapsed
