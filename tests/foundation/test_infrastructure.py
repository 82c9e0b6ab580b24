"""The real Redis broker, a real Celery worker and the real channels-redis layer."""

import asyncio
import os
import subprocess
import sys
import uuid
from pathlib import Path

from asgiref.sync import async_to_sync
from celery.contrib.testing.tasks import ping
from celery.contrib.testing.worker import start_worker
from channels.layers import DEFAULT_CHANNEL_LAYER, channel_layers, get_channel_layer

from dialer_site.celery import app

ROOT = Path(__file__).resolve().parents[2]


def test_a_task_round_trips_through_redis_and_a_real_worker():
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        assert ping.delay().get(timeout=20) == "pong"


def test_a_message_round_trips_through_the_channels_redis_layer():
    layer = get_channel_layer()
    group = f"test-{uuid.uuid4().hex}"

    async def round_trip():
        channel = await layer.new_channel()
        await layer.group_add(group, channel)
        await layer.group_send(group, {"type": "call.status", "status": "ringing"})
        message = await layer.receive(channel)
        await layer.group_discard(group, channel)
        return message

    assert async_to_sync(round_trip)() == {"type": "call.status", "status": "ringing"}


def _start_django(**env_changes):
    env = {k: v for k, v in os.environ.items() if k not in env_changes or env_changes[k] is not None}
    env.update({k: v for k, v in env_changes.items() if v is not None})
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )


def test_it_refuses_to_start_without_secret_key_when_debug_is_off():
    result = _start_django(DEBUG="false", SECRET_KEY=None)
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_it_starts_without_secret_key_in_debug():
    assert _start_django(DEBUG="true", SECRET_KEY=None).returncode == 0


def test_it_refuses_a_boolean_it_cannot_read():
    result = _start_django(DEBUG="yes")
    assert result.returncode != 0
    assert "DEBUG='yes' is not a boolean" in result.stderr


def test_it_refuses_to_skip_twilio_signatures_in_production():
    result = _start_django(DEBUG="false", TWILIO_VALIDATE_SIGNATURES="false")
    assert result.returncode != 0
    assert "TWILIO_VALIDATE_SIGNATURES" in result.stderr


def test_a_consumer_can_wait_quietly_longer_than_the_layers_blocking_read():
    """A call's bot session waits on its group for minutes; the Redis read under it must
    not time out first (redis-py 8 defaults to 5 s, the same as the layer's BZPOPMIN)."""
    # The product's layer settings, in an instance of its own: the shared one keeps
    # per-event-loop receive state that other tests' (closed) loops may have left behind.
    layer = channel_layers.make_backend(DEFAULT_CHANNEL_LAYER)

    async def idle_then_receive():
        channel = await layer.new_channel()
        waiting = asyncio.ensure_future(layer.receive(channel))
        await asyncio.sleep(7)
        assert not waiting.done(), waiting.exception() if waiting.done() else None
        await layer.send(channel, {"type": "bot.hangup"})
        return await asyncio.wait_for(waiting, 5)

    assert async_to_sync(idle_then_receive)() == {"type": "bot.hangup"}
