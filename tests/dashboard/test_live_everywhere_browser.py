"""What staff see change without a reload, beyond the figures: the campaign's timeline,
controls and "Before it can resume" notice when the circuit breaker pauses it (and when it
resumes), its transfer figures as calls are handed to a person, and a call page's header
(status, outcome, duration, CallSid) and recording card as the call ends. Real daphne and
Redis; the page is marked when it loads, so a reload would show."""

import pytest
from django.utils import timezone

from calls import breaker, live
from calls.models import Call, TransferAttempt
from campaigns import lifecycle
from campaigns.models import Lead
from tests import factory
from tests.dashboard.browser import committed, log_in, screenshot
from tests.dashboard.test_browser import move
from tests.imports.conftest import import_now
from tests.waiting import settle_on

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NOT_RELOADED = "window.notReloaded === true"
AGENT = "+12025550181"


def open_unreloaded(page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("#live-state.live")
    page.evaluate("window.notReloaded = true")


def test_a_pause_by_the_breaker_reaches_the_timeline_and_controls_without_a_reload(server, chrome, boss):
    campaign = factory.campaign(name="Spring renewals", status="running", breaker_min_calls=2)
    lifecycle.created(campaign)
    factory.lead(campaign)  # someone still to call, so it may resume
    page = chrome.new_page(viewport={"width": 1366, "height": 900})
    log_in(page, server.url, "boss", "pw-boss-12345")
    open_unreloaded(page, f"{server.url}/campaigns/{campaign.pk}/")
    resume = page.get_by_role("button", name="Resume")
    assert page.locator("form.pause-form").is_visible() and not resume.is_visible()

    def two_calls_fail():
        failed = [factory.call(factory.lead(campaign), status="failed", ended_at=timezone.now())
                  for _ in range(2)]
        assert breaker.check(campaign.pk)
        return failed

    failed = committed(two_calls_fail)
    paused = page.locator('#timeline li[data-event="paused"]')
    paused.wait_for()
    assert "Paused by the circuit breaker" in paused.inner_text()
    assert {link.get_attribute("href") for link in paused.locator("a").all()} == {
        f"/calls/{call.pk}/" for call in failed}
    # The header comes with the batched figures, up to a second after the timeline's entry.
    settle_on(lambda: page.locator("h1 .badge").inner_text(), lambda: "Paused")
    assert "2 of the 2 calls" in page.locator("[data-summary=status_reason]").inner_text()
    # The controls follow: Resume is offered, Pause no longer is.
    resume.wait_for()
    assert not page.locator("form.pause-form").is_visible()
    screenshot(page, "live-timeline-paused-by-breaker")

    committed(lambda: lifecycle.resume(campaign, user=boss))
    page.locator('#timeline li[data-event="resumed"]').wait_for()
    assert "by boss" in page.locator('#timeline li[data-event="resumed"]').inner_text()
    page.locator("form.pause-form").wait_for()
    assert page.evaluate(NOT_RELOADED)


def test_a_call_page_header_follows_the_call_as_it_ends(server, chrome, boss):
    campaign = factory.campaign(name="Spring renewals", status="running")
    grace = factory.customer(first_name="Grace", last_name="Hopper")
    lead = factory.lead(campaign, state="in_call", customer=grace)
    call = factory.call(lead, status="queued", call_sid=None)
    page = chrome.new_page(viewport={"width": 1366, "height": 900})
    log_in(page, server.url, "boss", "pw-boss-12345")
    open_unreloaded(page, f"{server.url}/calls/{call.pk}/")
    header = page.locator(".page-head")
    assert "no CallSid yet" in header.inner_text() and "Queued" in header.locator("h1 .badge").inner_text()

    sid = "CA" + "7" * 32
    move(call, status="in-progress", call_sid=sid, answered_at=timezone.now(), answered_by="human")
    page.wait_for_function("document.querySelector('h1 .badge').textContent === 'In progress'")
    page.wait_for_function(  # the duration ticks
        "/^\\d+:\\d\\d$/.test(document.querySelector('.page-head [data-field=duration]').textContent)")
    assert sid in header.inner_text()

    move(call, status="completed", ended_at=timezone.now(), duration_seconds=42,
         disposition="callback_requested")
    page.wait_for_function("document.querySelector('h1 .badge').textContent === 'Completed'")
    page.wait_for_function(
        "document.querySelector('[data-field=header-outcome]').textContent.trim() === 'Callback requested'")
    assert header.locator("[data-field=duration]").inner_text() == "42 s"
    assert not page.locator('[data-field="live-note"]').count()  # no "live", no Listen
    # The rest of the page agrees with its header.
    page.wait_for_function(
        "document.querySelector('#call-outcome [data-field=disposition]').textContent.includes('Callback')")
    assert page.locator(".transcript-empty").inner_text() == "No transcript for this call."
    # No promise of a recording to come: there is none, and the page says why.
    page.wait_for_function("document.querySelector('#recording [data-field=recording-note]').textContent"
                           " === \"No recording: the call's audio never reached the bot.\"")
    assert page.evaluate(NOT_RELOADED)
    screenshot(page, "live-call-header-ended")


def shown_notice(page) -> list[str]:
    """The 'Before it can resume' notice's heading and items, as shown ([] when none is)."""
    notice = page.locator("#campaign-problems .notice")
    if not notice.count():
        return []
    return [notice.locator("strong").inner_text(), *notice.locator("li").all_inner_texts()]


def test_the_before_it_can_resume_notice_follows_the_campaign_without_a_reload(server, chrome, boss):
    # No caller ID (a running campaign's number was cleared), and its last contact still in a call.
    campaign = factory.campaign(name="Spring renewals", status="running", caller_id="", breaker_min_calls=2)
    lifecycle.created(campaign)
    last = factory.lead(campaign, state="in_call", attempts=1)
    calling = factory.answer(factory.call(last))
    tabs = chrome.new_context(viewport={"width": 1366, "height": 900})  # one staff member's session
    page = tabs.new_page()
    log_in(page, server.url, "boss", "pw-boss-12345")
    open_unreloaded(page, f"{server.url}/campaigns/{campaign.pk}/")
    assert shown_notice(page) == []  # running: nothing to fix before it resumes

    def two_calls_fail():
        for _ in range(2):
            factory.call(factory.lead(campaign, state="done"), status="failed", ended_at=timezone.now())
        assert breaker.check(campaign.pk)

    committed(two_calls_fail)
    page.wait_for_selector("#campaign-problems .notice")
    assert shown_notice(page) == [
        "Before it can resume:", "Set a caller ID (the Twilio number calls come from) or a caller-ID pool.",
        "Add at least one contact who can still be called."]
    screenshot(page, "live-notice-paused-by-breaker")

    # The last call ends unanswered and its contact is due again: one thing less to fix.
    def unanswered():
        Lead.objects.filter(pk=last.pk).update(state="retry", next_attempt_at=timezone.now())
        Call.objects.filter(pk=calling.pk).update(status="no-answer", ended_at=timezone.now())
        calling.refresh_from_db()
        live.publish_call(calling)  # with the lead's change, after the one commit

    committed(unanswered)
    page.wait_for_function("document.querySelectorAll('#campaign-problems li').length === 1")
    assert shown_notice(page) == [
        "Before it can resume:", "Set a caller ID (the Twilio number calls come from) or a caller-ID pool."]

    # Someone sets the caller ID in another tab: nothing is left to fix on this one.
    other = tabs.new_page()
    other.goto(f"{server.url}/campaigns/{campaign.pk}/edit/")
    other.fill("#id_caller_id", "+12025550100")
    other.get_by_role("button", name="Save changes").click()
    other.wait_for_url(f"{server.url}/campaigns/{campaign.pk}/")
    page.wait_for_selector("#campaign-problems .notice", state="detached")
    page.get_by_role("button", name="Resume").click()
    page.wait_for_selector("h1 .badge.status-running")
    campaign.refresh_from_db()
    assert campaign.status == "running"


def test_contacts_imported_into_a_paused_campaign_reach_its_page_without_a_reload(server, chrome, boss):
    campaign = factory.campaign(name="Spring renewals", status="paused")
    ann = factory.lead(campaign, state="done", last_outcome="not_interested", attempts=1,
                       customer=factory.customer("+12025550101", first_name="Ann", last_name="Lee"))
    page = chrome.new_page(viewport={"width": 1366, "height": 900})
    log_in(page, server.url, "boss", "pw-boss-12345")
    open_unreloaded(page, f"{server.url}/campaigns/{campaign.pk}/")
    assert shown_notice(page) == ["Before it can resume:",
                                  "Add at least one contact who can still be called."]
    assert page.locator(".stats [data-summary=progress]").inner_text() == "1 / 1"

    committed(lambda: import_now("phone,first_name,last_name\n+12025550101,Annie,Lee\n+12025550102,Bob,Ray\n"
                                 "+12025550103,Cleo,Day\n", campaign))
    page.wait_for_selector("#campaign-problems .notice", state="detached")
    page.wait_for_selector("#leads-added:not([hidden])")
    assert page.locator("#leads-added").inner_text() == "2 leads added since this page loaded. Show them"
    assert page.locator(".stats [data-summary=progress]").inner_text() == "1 / 3"
    assert "Annie Lee" in page.locator(f"#leads-table tr[data-lead-id='{ann.pk}']").inner_text()
    screenshot(page, "live-import-into-paused")
    assert page.evaluate(NOT_RELOADED)
    page.get_by_role("link", name="Show them").click()
    page.wait_for_selector("#live-state.live")
    assert page.locator("#leads-table tr[data-lead-id]").count() == 3


def test_the_transfer_figures_follow_the_hand_offs_without_a_reload(server, chrome, boss):
    campaign = factory.campaign(name="Spring renewals", status="running", transfer_targets=[AGENT])
    call = factory.answer(factory.call(factory.lead(campaign, state="in_call")))
    factory.call(factory.lead(campaign, state="done", last_outcome="not_interested"), status="completed",
                 answered_at=timezone.now(), answered_by="human", disposition="not_interested")
    page = chrome.new_page(viewport={"width": 1366, "height": 900})
    log_in(page, server.url, "boss", "pw-boss-12345")
    open_unreloaded(page, f"{server.url}/campaigns/{campaign.pk}/")
    figures = page.locator("#transfer-figures")
    assert figures.locator(".value").inner_text() == "0%"
    assert "agents answered — (none rung)" in figures.inner_text()

    def handed_to_an_agent():
        TransferAttempt.objects.create(call=call, target=AGENT, mode="cold", requested_by="bot",
                                       reason="interested", status="answered", answered_at=timezone.now())
        move(call, disposition="transferred", transferred_to=AGENT)

    committed(handed_to_an_agent)
    page.wait_for_function("document.querySelector('#transfer-figures .value').textContent === '50%'")
    assert figures.locator(".small").inner_text() == (
        "1 of 2 answered calls handed to a person; agents answered 100% (1 of 1 rung)")
    screenshot(page, "live-transfer-figures")
    assert page.evaluate(NOT_RELOADED)
