"""Every figure on the staff pages follows a running campaign without a reload: the campaign
page's progress, outcome chips and chart, hourly chart, Recent calls and Leads rows; the
campaign list's row; a call page's outcome, summary, latency table and recording. Real
daphne, Redis, Celery worker and the Twilio emulator's callees; the pages are compared with
the database once the calls are over."""

from datetime import UTC, datetime

import pytest

from calls.models import Call
from calls.session_figures import session_figures
from campaigns.calling_window import zone_where_it_is
from campaigns.models import Lead
from dialer_site.dashboard import stats
from tests import factory
from tests.dashboard.browser import READ_CAMPAIGN_PAGE, log_in, screenshot
from tests.waiting import settle_on, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WAIT_MS = 60_000  # three calls at once on the local voice stack take ~25 s; slack for a slow machine

READ_CALL_PAGE = """() => ({
    outcome: document.querySelector('[data-field=disposition]').textContent.trim(),
    summary: document.querySelector('[data-field=summary]')?.textContent.trim() || '',
    latency: [...document.querySelectorAll('[data-field=metrics] tr')]
        .map((tr) => [...tr.cells].map((cell) => cell.textContent.trim()).join(' ')),
    recording: document.querySelector('#recording audio')?.getAttribute('src') || null,
})"""

READ_LIST_ROW = """(id) => {
    const row = document.querySelector(`#campaigns tr[data-campaign-row="${id}"]`);
    const field = (name) => row.querySelector(`[data-summary=${name}]`).textContent
        .trim().replace(/\\s+/g, ' ');
    return {progress: field('progress'), outcomes: field('outcomes'), live: field('live_calls'),
            answer_rate: field('answer_rate')};
}"""


def iso(moment):
    return moment.isoformat() if moment else "—"


def expected_campaign_page(campaign) -> dict:
    breakdown = stats.lead_breakdowns([campaign.pk])[campaign.pk]
    hourly = stats.calls_per_hour(campaign)
    recent = campaign.calls.select_related("customer").order_by("-created_at")[:10]
    leads = campaign.leads.select_related("customer").order_by("id")
    return {
        "progress": f"{breakdown['done']} / {breakdown['total']}",
        "chips": [f"{o['label']} {o['count']}" for o in breakdown["outcomes"]],
        "outcomes": [f"{o['label']}: {o['count']}" for o in breakdown["outcomes"]],
        "hourly": f"{sum(hourly['calls'])} calls, {sum(hourly['answers'])} answered",
        "recent": [(c.customer.full_name, c.get_status_display(), c.get_disposition_display() or "—")
                   for c in recent],
        "leads": sorted((lead.customer.full_name, lead.get_state_display(), str(lead.attempts),
                         lead.get_last_outcome_display() or "—", iso(lead.upcoming_attempt_at),
                         iso(lead.callback_at))
                        for lead in leads),
    }


def shown_campaign_page(page) -> dict:
    seen = page.evaluate(READ_CAMPAIGN_PAGE)
    return {
        "progress": seen["progress"],
        "chips": seen["chips"],
        "outcomes": "(no chart)" if seen["outcomesEmpty"] or not seen["outcomesDrawn"]
        else [part.strip() for part in seen["outcomesSummary"].split(",") if part.strip()],
        "hourly": "(no chart)" if seen["hourlyEmpty"] or not seen["hourlyDrawn"]
        else seen["hourlySummary"].split(" in ")[0],
        # Recent calls: When, Customer, Direction, Status, Outcome, Duration.
        "recent": [(row[1], row[3], row[4]) for row in seen["recent"]],
        # Leads: Customer, Phone, State, Attempts, Last outcome, Next attempt, Callback, link.
        "leads": sorted((row[0], row[2], row[3], row[4], row[5], row[6]) for row in seen["leads"]),
    }


def test_it_keeps_every_figure_live_during_a_running_campaign(emulated_twilio, dialing_worker, chrome, boss):
    server = emulated_twilio.url
    daytime = zone_where_it_is(13, datetime.now(UTC))  # the calling window is open whenever this runs
    campaign = factory.campaign(name="Winter offers", answering_machine_detection=False)
    people = [("+12025550102", "Nora", "Nothanks"), ("+12025550103", "Grace", "Hopper"),
              ("+12025550104", "Bert", "Busy")]
    for phone, first, last in people:
        factory.lead(campaign, timezone=daytime, customer=factory.customer(
            phone=phone, first_name=first, last_name=last, timezone=daytime))

    browser = chrome.new_context(viewport={"width": 1366, "height": 900})
    browser.set_default_timeout(WAIT_MS)
    listing = browser.new_page()
    log_in(listing, server, "boss", "pw-boss-12345")
    listing.wait_for_selector("#live-state.live")
    page = browser.new_page()
    page.goto(f"{server}/campaigns/{campaign.pk}/")
    page.wait_for_selector("#live-state.live")
    assert shown_campaign_page(page)["outcomes"] == "(no chart)"
    for tab in (page, listing):
        tab.evaluate("window.notReloaded = true")

    page.click(f"form[action='/campaigns/{campaign.pk}/start/'] button")
    page.wait_for_selector("h1 .badge.status-running")
    page.wait_for_selector("#live-state.live")
    page.evaluate("window.notReloaded = true")

    # Nora's call page, opened while her call rings or talks.
    nora = wait_until(lambda: Call.objects.filter(campaign=campaign, to_number="+12025550102").first(), 30)
    call_page = browser.new_page()
    call_page.goto(f"{server}/calls/{nora.pk}/")
    call_page.wait_for_selector("#live-state.live")
    call_page.evaluate("window.notReloaded = true")
    assert call_page.evaluate(READ_CALL_PAGE)["recording"] is None

    # Mid-campaign, the page follows the database too.
    wait_until(lambda: Call.objects.filter(campaign=campaign, status="in-progress").exists(), 40)
    settle_on(lambda: shown_campaign_page(page), lambda: expected_campaign_page(campaign))
    screenshot(page, "live-01-campaign-mid-run")

    def all_calls_over():
        calls = list(Call.objects.filter(campaign=campaign))
        answered = [c for c in calls if c.answered_at]
        return (len(calls) == 3 and not any(c.is_live for c in calls) and len(answered) == 2
                and all(c.metrics and c.recording for c in answered)
                and not Lead.objects.filter(campaign=campaign, state__in=["dialing", "in_call"]).exists())

    wait_until(all_calls_over, WAIT_MS / 1000, interval=0.5)
    expected = expected_campaign_page(campaign)
    assert expected["chips"] == ["Not interested 1", "Callback requested 1", "Busy 1"]
    settle_on(lambda: shown_campaign_page(page), lambda: expected_campaign_page(campaign))
    screenshot(page, "live-02-campaign-after-the-calls")

    nora.refresh_from_db()
    metrics = [f"{label} {value}" for label, value in session_figures(nora.metrics)]
    settle_on(lambda: call_page.evaluate(READ_CALL_PAGE), lambda: {
        "outcome": nora.get_disposition_display(), "summary": nora.summary, "latency": metrics,
        "recording": f"/calls/{nora.pk}/recording/"})
    assert nora.summary and metrics
    screenshot(call_page, "live-03-call-ended")

    summary = stats.campaign_summary(campaign)
    settle_on(lambda: listing.evaluate(READ_LIST_ROW, campaign.pk), lambda: {
        "progress": f"{summary['lead_done']} / {summary['lead_total']}",
        "outcomes": " ".join(f"{o['label']} {o['count']}" for o in summary["outcomes"]),
        "live": "0", "answer_rate": f"{summary['answer_rate']}%"})
    screenshot(listing, "live-04-campaign-list")
    for tab in (page, listing, call_page):
        assert tab.evaluate("window.notReloaded") is True
