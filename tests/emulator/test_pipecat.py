"""Pipecat's TwilioFrameSerializer hangs up through the emulator's REST API."""

from __future__ import annotations

import asyncio

from pipecat.frames.frames import EndFrame
from pipecat.serializers.twilio import TwilioFrameSerializer

from .conftest import ACCOUNT_SID, APP_NUMBER, AUTH_TOKEN


def test_the_serializers_auto_hang_up_ends_the_call(client, emulator):
    call = client.calls.create(to="+15005550199", from_=APP_NUMBER,
                               twiml="<Response><Pause length='30'/></Response>")
    emulator.wait_for_status(call.sid, "in-progress", timeout=5)
    serializer = TwilioFrameSerializer("MZ" + "0" * 32, call.sid, ACCOUNT_SID, AUTH_TOKEN,
                                       base_url=emulator.base_url)

    asyncio.run(serializer.serialize(EndFrame()))

    done = emulator.wait_for_status(call.sid, "completed", timeout=5)
    assert done["end_reason"] == "hung up through the REST API"
    # A second hang-up gets Twilio's 404/20404, which Pipecat treats as "already ended".
    late = TwilioFrameSerializer("MZ" + "0" * 32, call.sid, ACCOUNT_SID, AUTH_TOKEN,
                                 base_url=emulator.base_url)
    asyncio.run(late.serialize(EndFrame()))
    updates = [e for e in emulator.get_call(call.sid)["timeline"]["entries"]
               if e["kind"] == "rest_update"]
    assert [u["params"] for u in updates] == [{"Status": "completed"}] * 2
