"""The bot side of listening in, over the real channels-redis layer: audio goes to the
call's listen group only while a listener's request holds, and nobody listening leaves the
session without a tap."""

import asyncio
import base64
import types

import pytest
from channels.layers import DEFAULT_CHANNEL_LAYER, channel_layers

from calls import listening
from calls.listening import AudioTap, listen_group

pytestmark = pytest.mark.asyncio


async def test_audio_reaches_listeners_only_while_someone_listens(monkeypatch):
    # A layer of this test's own: the process-wide one may hold locks of an earlier test's loop.
    layer = channel_layers.make_backend(DEFAULT_CHANNEL_LAYER)
    page = await layer.new_channel()
    await layer.group_add(listen_group("CAlisten1"), page)
    session = types.SimpleNamespace(listen=None)
    tap = AudioTap(layer, "CAlisten1", session)

    tap.start(page)
    assert session.listen == tap.hear
    session.listen("caller", b"\x10\x00" * 80, 8000)
    session.listen("bot", b"\x20\x00" * 160, 16000)
    heard = [await asyncio.wait_for(layer.receive(page), 3) for _ in range(2)]
    assert {(m["side"], m["rate"], base64.b64decode(m["pcm"])) for m in heard} == {
        ("caller", 8000, b"\x10\x00" * 80), ("bot", 16000, b"\x20\x00" * 160)}

    tap.stop(page)
    assert session.listen is None  # the session stops handing audio over at once
    await asyncio.sleep(listening.FLUSH_SECONDS * 3)
    assert tap.task is None

    # A listener that vanished without a word lapses after its lease.
    monkeypatch.setattr(listening, "LEASE_SECONDS", 0.3)
    tap.start(page)
    await asyncio.sleep(0.6)
    assert session.listen is None and tap.task is None
    await layer.group_discard(listen_group("CAlisten1"), page)
