"""Races inside one call's bot session: what the socket sends while the pipeline is backed
up, and what waits for a pipeline that never starts."""

import asyncio
import json
import threading

import pytest

from botruntime.session import BotSession, StreamStart
from botruntime.store import UnknownCall
from botruntime.transport import INPUT_QUEUE_SIZE, ChannelsTransport, ChannelsTransportParams
from tests.botruntime.memory_store import MemoryCallStore
from tests.botruntime.test_units import context

pytestmark = pytest.mark.asyncio
MEDIA = json.dumps({"event": "media", "media": {"payload": ""}})


async def test_a_full_input_queue_drops_audio_but_never_a_mark_or_the_stop():
    async def nowhere(*_):
        pass

    transport = ChannelsTransport(nowhere, nowhere, ChannelsTransportParams())
    transport.client.next_mark(0.0)  # the mark we sent (after no audio); Twilio echoes it below
    transport.feed("mark", "m1")
    for _ in range(INPUT_QUEUE_SIZE + 50):  # the pipeline is stalled: audio piles up
        transport.feed("media", MEDIA)
    transport.feed("stop", "{}")
    # The pipeline catches up and reads everything that waited (the receive loop, alone).
    await asyncio.wait_for(transport.input()._receive_messages(), timeout=5)  # it ends on the stop
    assert transport.stats() == {"marks_sent": 1, "marks_echoed": 1, "input_dropped": 50}


class RefusingStore(MemoryCallStore):
    def link_call(self, call_sid, stream_sid, parameters):
        raise UnknownCall(f"no call {call_sid}")


def failing_services(*_):
    raise RuntimeError("the speech service is down")


@pytest.mark.parametrize("failure", ["stream refused", "build failed"])
async def test_an_amd_result_waiting_for_a_session_that_never_starts_ends(failure):
    store_class, services = {"stream refused": (RefusingStore, None),
                             "build failed": (MemoryCallStore, failing_services)}[failure]
    session = BotSession(StreamStart("MZ1", "CA1", "AC1"), transport=None, store=store_class(context()),
                         services_factory=services)
    amd = asyncio.create_task(session.answered_by("machine_end_beep"))
    await asyncio.sleep(0)  # it waits for the pipeline
    await session.run()
    await asyncio.wait_for(amd, timeout=5)  # ended, rather than waiting for ever
    assert not session.voicemail_started


async def test_one_calls_slow_database_write_does_not_hold_up_another_call():
    """Every session in a process used to share one database thread: a call whose write
    hung (a lock, a big recording) held up every other call's writes, and the answers the
    agent gives after recording an outcome."""
    hung = threading.Event()

    class HangingStore(RefusingStore):
        def link_call(self, call_sid, stream_sid, parameters):
            if call_sid == "CA-hung":
                hung.wait(10)
            return super().link_call(call_sid, stream_sid, parameters)

    def session(call_sid: str) -> BotSession:
        return BotSession(StreamStart("MZ" + call_sid, call_sid, "AC1"), transport=None,
                          store=HangingStore(context()))

    stuck = asyncio.create_task(session("CA-hung").run())
    await asyncio.sleep(0.1)  # its write has started, and hangs
    try:
        await asyncio.wait_for(session("CA-other").run(), timeout=2)
    finally:
        hung.set()
    await asyncio.wait_for(stuck, timeout=5)
