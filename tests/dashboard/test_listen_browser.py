"""Listening in on a live call from its page: both sides play in the browser through Web
Audio, the listen is in the audit log, and stopping ends it. Real daphne, Redis, worker and
the Twilio emulator's callee talking to the bot."""

import pytest

from calls.models import Listening
from tests import factory
from tests.dashboard.browser import screenshot
from tests.waiting import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_staff_listen_to_a_live_call_in_the_browser(emulated_twilio, live_call_page):
    campaign = factory.campaign(name="Winter offers", status="running", answering_machine_detection=False)
    call, page = live_call_page(campaign)  # Ivy, interested, talks for a while
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
