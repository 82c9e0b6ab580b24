"""A web process refuses what it cannot hold, before accepting it, and keeps its calls healthy."""

import asyncio

import pytest
import websockets

from calls import capacity
from calls.models import Call, TranscriptLine
from tests import factory
from tests.waiting import wait_until
from tests.web.conftest import dial

pytestmark = pytest.mark.django_db(transaction=True)
METRICS_TOKEN = "metrics-token-for-the-tests"


def upgrade_status(web) -> int:
    """The HTTP status a new, correctly signed media stream gets (101: accepted)."""
    async def connect():
        try:
            async with websockets.connect(web.stream_url, additional_headers=web.signed_headers(),
                                          open_timeout=10):
                return 101
        except websockets.exceptions.InvalidStatus as refused:
            return refused.response.status_code
    return asyncio.run(connect())


def beat_of(web) -> capacity.Beat | None:
    port = web.base_url.rsplit(":", 1)[1]
    return next((beat for beat in capacity.live_processes() if beat.address.endswith(f":{port}")), None)


def live_streams(web) -> int | None:
    beat = beat_of(web)
    return beat.live if beat else None


def stored(call: Call) -> Call | None:
    call.refresh_from_db()
    return call if call.summary else None


def metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not exported")


def test_it_publishes_its_capacity_and_load_with_a_heartbeat(web_process):
    web = web_process(MEDIA_STREAMS_PER_PROCESS="5")

    beat = wait_until(lambda: beat_of(web), timeout=10)
    assert (beat.capacity, beat.live, beat.draining, beat.admitting) == (5, 0, False, True)
    assert beat.free == 5

    web.process.kill()  # no goodbye: the beat lapses by itself
    wait_until(lambda: beat_of(web) is None, timeout=10)


def test_a_full_process_refuses_a_new_stream_with_503_and_the_call_it_holds_goes_on(web_process, emulator):
    web = web_process(MEDIA_STREAMS_PER_PROCESS="1", METRICS_TOKEN=METRICS_TOKEN)
    call = factory.outbound_call(factory.offers_campaign(), factory.dana("+12025550131"))

    sid = dial(emulator, web.stream_url, call)
    wait_until(lambda: live_streams(web) == 1, timeout=20)

    assert upgrade_status(web) == 503
    assert ("Refused a media stream: this process is full (1 of MEDIA_STREAMS_PER_PROCESS=1 streams live)"
            in web.log())

    emulator.wait_for_status(sid, "completed", timeout=60)
    call = wait_until(lambda: stored(call), timeout=20)
    assert call.disposition == "do_not_call"
    assert TranscriptLine.objects.filter(call=call, speaker="bot").count() >= 2  # greeting and goodbye
    wait_until(lambda: live_streams(web) == 0, timeout=10)
    assert upgrade_status(web) == 101  # room again

    status, body = web.get("/metrics", {"Authorization": f"Bearer {METRICS_TOKEN}"})
    text = body.decode()
    assert status == 200
    assert metric(text, 'dialer_media_streams_refused_total{reason="full"}') == 1
    assert metric(text, "dialer_media_streams_accepted_total") == 2
    assert metric(text, "dialer_outbound_frame_gap_seconds_count") > 20  # the bot's speech, frame by frame
    assert metric(text, "dialer_turn_latency_seconds_count") >= 1
    assert metric(text, "dialer_event_loop_lag_seconds_count") > 0



def test_a_process_whose_event_loop_runs_late_refuses_new_streams(web_process):
    web = web_process(MEDIA_ADMISSION_LAG_P95_MS="0.001")  # any lag at all is too much

    wait_until(lambda: (beat := beat_of(web)) and not beat.admitting, timeout=15)

    assert upgrade_status(web) == 503
    assert "Refused a media stream: the event loop is" in web.log()
