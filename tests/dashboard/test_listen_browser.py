"""Listening in on a live call from its page: both sides play in the browser through Web
Audio, the listen is in the audit log, and stopping ends it. Real daphne, Redis, worker and
the Twilio emulator's callee talking to the bot."""

from datetime import UTC, datetime

import pytest

from calls.models import Call, Listening
from campaigns.calling_window import zone_where_it_is
from tests import factory
from tests.dashboard.browser import log_in, screenshot
from tests.waiting import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_staff_listen_to_a_live_call_in_the_browser(emulated_twilio, dialing_worker, chrome, boss):
    server = emulated_twilio.url
    daytime = zone_where_it_is(13, datetime.now(UTC))
    campaign = factory.campaign(name="Winter offers", status="running", answering_machine_detection=False)
    # The callee ending 01 is interested and talks for a while.
    factory.lead(campaign, timezone=daytime, customer=factory.customer(
        phone="+12025550101", first_name="Ivy", last_name="Keen", timezone=daytime))
    call = wait_until(lambda: Call.objects.filter(campaign=campaign, status="in-progress")
                      .exclude(call_sid=None).first(), 40, interval=0.2)

    page = chrome.new_page(viewport={"width": 1366, "height": 900})
    page.set_default_timeout(30_000)
    log_in(page, server, "boss", "pw-boss-12345")
    page.goto(f"{server}/calls/{call.pk}/")
    page.wait_for_selector("#live-state.live")
    assert not Listening.objects.exists()
    page.click("#listen")
    page.wait_for_selector("#listen[aria-pressed=true]")
    page.wait_for_function("document.getElementById('listen-state').textContent.startsWith('Listening')")
    # The call's audio plays: the page's analyser hears it.
    page.wait_for_function("(window.listenPeak || 0) > 0.01")
    page.wait_for_function("document.getElementById('listen-level').value > 0")
    screenshot(page, "listen-01-listening")
    heard = Listening.objects.get()
    assert (heard.call_id, heard.username, heard.ended_at) == (call.pk, "boss", None)

    page.click("#listen")
    page.wait_for_selector("#listen[aria-pressed=false]")
    wait_until(lambda: Listening.objects.filter(ended_at__isnull=False).exists(), 10)
    heard.refresh_from_db()
    assert heard.ended_at >= heard.started_at
