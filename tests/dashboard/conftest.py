import threading
from datetime import UTC, datetime

import pytest
import redis
from celery.contrib.testing.worker import start_worker
from celery.signals import task_postrun
from django.db import connection

from calls.dialer import pacing
from calls.models import Call
from calls.tasks import dispatch_tick
from campaigns.calling_window import zone_where_it_is
from dialer_site.celery import app
from tests import factory
from tests.dashboard.browser import Daphne, chromium, log_in
from tests.waiting import wait_until
from twilio_emulator import EmulatorThread, Timing

ACCOUNT_SID = "AC" + "f1" * 16
AUTH_TOKEN = "flow-tests-auth-token-0123456789"


@pytest.fixture
def campaign(db):
    return factory.campaign()


@pytest.fixture
def live_call(campaign):
    """A call in progress with two transcript lines."""
    call = factory.answer(factory.call(factory.lead(campaign, state="in_call")))
    factory.line(call, "bot", "Hello Ada, this is the assistant from Summer sale.", 300)
    factory.line(call, "caller", "Oh hi, what's this about?", 2100)
    return call


@pytest.fixture
def boss(db):
    """The staff member the browser tests log in as."""
    return factory.superuser("boss", "pw-boss-12345")


@pytest.fixture
def chrome():
    with chromium() as browser:
        yield browser


@pytest.fixture
def server(tmp_path):
    """daphne on the test database, alone (no emulator)."""
    daphne = Daphne(media_root=tmp_path / "media")
    daphne.start()
    yield daphne
    daphne.stop()


@pytest.fixture
def emulated_twilio(tmp_path, settings):
    """daphne and the emulator pointed at each other, and this process set up like daphne."""
    daphne = Daphne(media_root=tmp_path / "media")
    # The default scenario: the callee ending 03 asks to be called back tomorrow at ten.
    with EmulatorThread(ACCOUNT_SID, AUTH_TOKEN, app_url=daphne.url, cps=50, data_dir=tmp_path / "twilio",
                        timing=Timing(hangup_wait_seconds=1.0)) as twilio:
        public = {"PUBLIC_BASE_URL": daphne.url, "TWILIO_API_BASE_URL": twilio.base_url,
                  "TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN}
        daphne.env |= public | {"BOT_ASR_WORKERS": "1", "LOG_LEVEL": "INFO"}
        for name, value in public.items():
            setattr(settings, name, value)
        settings.MEDIA_ROOT = daphne.media_root  # the worker reads the uploaded CSV
        redis.Redis.from_url(settings.REDIS_URL).delete(*pacing.KEYS)  # a full calls-per-second bucket
        daphne.start()
        daphne.twilio = twilio  # the tests read the emulator's calls
        try:
            yield daphne
        finally:
            daphne.stop()


@pytest.fixture
def dialing_worker(emulated_twilio, status_callback_applier):
    """A real worker on the test queue (imports, dispatching, dialling) beside the applier of
    status callbacks, and beat's job done by a thread: a dispatch tick every second until the
    test ends."""
    stop = threading.Event()

    def close_connection(**_):
        # Each pool thread would keep its connection (CONN_MAX_AGE) past the test, and the
        # test database could not be dropped.
        connection.close()

    def beat():
        while not stop.wait(1.0):
            dispatch_tick.delay()

    task_postrun.connect(close_connection, weak=False)
    try:
        with start_worker(app, pool="threads", concurrency=4, perform_ping_check=False, shutdown_timeout=10):
            ticker = threading.Thread(target=beat, name="test-beat", daemon=True)
            ticker.start()
            yield
            stop.set()
            ticker.join(5)
    finally:
        task_postrun.disconnect(close_connection)


@pytest.fixture
def live_call_page(emulated_twilio, dialing_worker, chrome, boss):
    """open(campaign) → (call, page): the emulator's callee ending 01 (Ivy Keen, interested,
    talking for a while, where it is early afternoon) is the running campaign's lead; once
    her call is in progress its page is open in the browser, logged in as the boss."""

    def open_call(campaign):
        daytime = zone_where_it_is(13, datetime.now(UTC))
        factory.lead(campaign, timezone=daytime, customer=factory.customer(
            phone="+12025550101", first_name="Ivy", last_name="Keen", timezone=daytime))
        call = wait_until(lambda: Call.objects.filter(campaign=campaign, status="in-progress")
                          .exclude(call_sid=None).first(), 40, interval=0.2)
        page = chrome.new_page(viewport={"width": 1366, "height": 900})
        page.set_default_timeout(30_000)
        log_in(page, emulated_twilio.url, "boss", "pw-boss-12345")
        page.goto(f"{emulated_twilio.url}/calls/{call.pk}/")
        return call, page

    return open_call
