"""Every staff page works for people who use a keyboard or a screen reader: axe-core finds
no serious or critical violation (labels, contrast, names of links and buttons, table
headers …) on any page, with live data on it; and the campaign page can be run by keyboard."""

import pytest
from django.utils import timezone

from campaigns.models import CallerNumber
from tests import factory
from tests.dashboard.accessibility import blocking_violations
from tests.dashboard.browser import log_in, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_no_page_has_a_serious_accessibility_violation(server, chrome, boss):
    campaign = factory.campaign(name="Spring renewals", status="running", caller_id_daily_cap=50)
    # A caller-ID pool, one number refused: the campaign page's table, the edit page's choices.
    CallerNumber.objects.create(campaign=campaign, phone_number="+13125550100", friendly_name="Chicago",
                                last_used_at=timezone.now())
    CallerNumber.objects.create(campaign=campaign, phone_number="+14155550100", refused_at=timezone.now(),
                                refused_reason="The caller ID is not a verified number (Twilio error 21210)")
    grace = factory.customer(first_name="Grace", last_name="Hopper", timezone="America/Chicago")
    lead = factory.lead(campaign, customer=grace, state="retry", attempts=1,
                        last_outcome="callback_requested",
                        timezone="America/Chicago", callback_at=timezone.now())
    factory.lead(campaign, state="done", last_outcome="interested", attempts=1)
    call = factory.answer(factory.call(lead))
    factory.line(call, "bot", "Hello Grace, this is the assistant from Spring renewals.", 400)
    factory.line(call, "caller", "Call me back tomorrow at ten.", 2400)
    ended = factory.call(lead, status="completed", disposition="callback_requested", duration_seconds=31,
                         summary="Asked to be called back.", metrics={"first_response_ms": 820})
    page = chrome.new_page(viewport={"width": 1366, "height": 900})
    page.goto(f"{server.url}/accounts/login/")
    problems = {"/accounts/login/": blocking_violations(page)}
    log_in(page, server.url, "boss", "pw-boss-12345")
    pages = ["/campaigns/", f"/campaigns/{campaign.pk}/", f"/campaigns/{campaign.pk}/edit/",
             f"/campaigns/{campaign.pk}/script/",
             "/campaigns/new/", "/calls/", f"/calls/{call.pk}/", f"/calls/{ended.pk}/", "/calls/inbound/",
             "/customers/", f"/customers/{grace.pk}/", "/imports/", "/account/",
             "/system/"]
    for path in pages:
        page.goto(server.url + path)
        page.wait_for_load_state("networkidle")
        problems[path] = blocking_violations(page)
    found = {path: lines for path, lines in problems.items() if lines}
    assert not found, "\n".join(f"{path}:\n  " + "\n  ".join(lines) for path, lines in found.items())


def test_a_campaign_can_be_paused_by_keyboard(server, chrome, boss):
    campaign = factory.campaign(name="Spring renewals", status="running")
    factory.lead(campaign)
    page = chrome.new_page(viewport={"width": 1366, "height": 900})
    log_in(page, server.url, "boss", "pw-boss-12345")
    page.goto(f"{server.url}/campaigns/{campaign.pk}/")
    page.wait_for_selector("#live-state.live")
    # The first Tab reaches the skip link; following it lands on the page's own content.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Skip to content"
    page.keyboard.press("Enter")
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.getAttribute('aria-label')") == "Pause reason":
            break
    page.keyboard.type("Lunch break")
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
    page.keyboard.press("Enter")
    page.wait_for_selector("h1 .badge.status-paused")
    screenshot(page, "a11y-paused-by-keyboard")
    campaign.refresh_from_db()
    assert (campaign.status, campaign.status_reason) == ("paused", "Lunch break")
