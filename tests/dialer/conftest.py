"""A campaign's world for dialling tests: the Twilio emulator, the product on a live
server (it receives the emulator's signed callbacks); the Celery worker is in tests/conftest.py."""

import threading
from datetime import UTC, datetime, time

import pytest
import redis
from django.conf import settings
from django.db import connection, transaction

from calls import metrics
from calls.dialer import pacing
from campaigns.calling_window import zone_where_it_is
from campaigns.models import Campaign
from tests import factory
from tests.web_processes import forget_all, web_process
from twilio_emulator import EmulatorThread, Timing

ACCOUNT_SID = "AC" + "7" * 32
AUTH_TOKEN = "dialer-test-token"

# Short rings so a campaign of 20 finishes in seconds. Answered calls reach the live
# server's WSGI side, which has no media socket: the stream fails and the call completes.
SCENARIO = {
    "defaults": {"ring": 0.2, "first_turn_timeout": 0.5, "turn_silence": 0.3},
    "callees": [
        {"pattern": "04$", "behaviour": "busy"},
        {"pattern": "05$", "behaviour": "no-answer"},
        {"pattern": "08$", "behaviour": "failed"},
    ],
    "fallback": {"behaviour": "answer", "script": [{"hangup_after": 1}]},
}
FAST = Timing(http_timeout=5, ws_handshake_timeout=1, application_error_seconds=0.2,
              amd_human_seconds=0.2, amd_machine_start_seconds=0.2, hangup_wait_seconds=0.5)


@pytest.fixture(autouse=True)
def a_web_process_with_room(settings):
    """The dispatcher dials only what live web processes can take: one with plenty of room,
    beating for the whole test, and no dial counted in the metrics yet. (The live server has
    no media socket; answered calls fail their stream and end, as they always have here.)"""
    settings.WEB_HEARTBEAT_SECONDS = 3600
    forget_all()
    redis.Redis.from_url(settings.REDIS_URL).delete(metrics.PLACED_KEY, metrics.FAILED_KEY, metrics.CPS_KEY)
    yield web_process("tests-web", 100)
    forget_all()


@pytest.fixture
def clean_pacer():
    redis.Redis.from_url(settings.REDIS_URL).delete(*pacing.KEYS)


@pytest.fixture
def emulator(live_server, tmp_path, settings, clean_pacer):
    with EmulatorThread(ACCOUNT_SID, AUTH_TOKEN, app_url=live_server.url, scenario=SCENARIO,
                        cps=50, data_dir=tmp_path, timing=FAST) as twilio:
        settings.PUBLIC_BASE_URL = live_server.url
        settings.TWILIO_API_BASE_URL = twilio.base_url
        settings.TWILIO_ACCOUNT_SID = ACCOUNT_SID
        settings.TWILIO_AUTH_TOKEN = AUTH_TOKEN
        yield twilio


def make_campaign(numbers, zone: str | None = None, **options) -> Campaign:
    """A campaign calling `numbers`; its contacts live in `zone`, by default one where it is
    early afternoon right now, so calls are legal whenever the tests run. Its circuit breaker
    is off: here every answered call lacks a media stream, which the breaker counts as a
    failure (tests/dialer/test_breaker.py turns it on)."""
    defaults = {"name": "Summer sale", "caller_id": "+12025550100", "window_start": time(0, 0),
                "window_end": time(23, 59), "max_concurrent_calls": 5, "ring_timeout_seconds": 2,
                "answering_machine_detection": False, "retry_delays_minutes": [0.01],
                "breaker_enabled": False}
    campaign = factory.campaign(**(defaults | options))
    zone = zone or zone_where_it_is(13, datetime.now(UTC))
    for number in numbers:
        factory.lead(campaign, factory.customer(number, first_name="Pat", last_name="", timezone=zone),
                     parameters={"plan": "gold"})
    return campaign


def in_threads(target, *args_list) -> list[threading.Thread]:
    """`target` run with each of `args_list` in a thread of its own (its own database session)."""
    def run(*args):
        try:
            target(*args)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=args) for args in args_list]
    for thread in threads:
        thread.start()
    return threads


def hold_open(write, written: threading.Event, release: threading.Event) -> None:
    """Make a write and keep its transaction open until released."""
    with transaction.atomic():
        write()
        written.set()
        release.wait(timeout=20)
