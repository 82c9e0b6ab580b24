"""The whole flow in a real browser, nothing faked: a staff member logs in, creates a campaign,
uploads a CSV, starts the campaign; a real Celery worker dials the Twilio emulator, whose
callee talks to the bot in a real daphne; the board and the call page follow the call live,
without a reload, and the call page ends with the recording player.

Who talks to whom: the emulator sends its signed status callbacks and media stream to daphne
(app_url = daphne's URL); daphne and the in-thread worker share the test database, Redis,
MEDIA_ROOT and the emulator's account (env for daphne, settings for the worker)."""

import re
from datetime import UTC, datetime

import pytest

from calls.models import Call
from campaigns.calling_window import zone_where_it_is
from campaigns.models import Campaign, ContactImport, Lead
from tests.dashboard.browser import log_in, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WAIT_MS = 45_000  # the whole call takes ~20 s on the local voice stack; slack for a slow machine


def contacts_csv() -> bytes:
    daytime = zone_where_it_is(13, datetime.now(UTC))  # the calling window is open whenever this runs
    return f"phone,first_name,last_name,timezone\n+12025550103,Grace,Hopper,{daytime}\n".encode()


# Every change the board makes to a row's "last said" cell, in order: the proof that the
# transcript grew in place, whichever lines came between two polls.
WATCH_BOARD = """() => {
    window.seenOnBoard = [];
    new MutationObserver(() => {
        for (const cell of document.querySelectorAll('#call-board [data-field=last_line]')) {
            const text = cell.textContent.trim();
            if (text && text !== '—' && window.seenOnBoard.at(-1) !== text) window.seenOnBoard.push(text);
        }
    }).observe(document.getElementById('call-board'), {subtree: true, childList: true, characterData: true});
}"""


def test_it_runs_a_campaign_from_upload_to_recording_live_in_the_browser(emulated_twilio, dialing_worker,
                                                                           chrome, boss):
    server = emulated_twilio.url
    browser = chrome.new_context(viewport={"width": 1366, "height": 900})
    browser.set_default_timeout(WAIT_MS)
    page = browser.new_page()
    log_in(page, server, "boss", "pw-boss-12345")
    screenshot(page, "flow-01-campaigns")

    # A campaign on the lite voice stack, without AMD: the callee is a person.
    page.click("text=New campaign")
    page.fill("#id_name", "Autumn callbacks")
    page.fill("#id_caller_id", "+12025550100")
    page.select_option("#id_voice_stack", "lite")
    page.uncheck("#id_answering_machine_detection")
    screenshot(page, "flow-02-new-campaign")
    page.click("button:has-text('Create campaign')")
    page.wait_for_url(re.compile(r"/campaigns/\d+/$"))
    campaign = Campaign.objects.get(name="Autumn callbacks")
    assert (campaign.caller_id, campaign.voice_stack, campaign.answering_machine_detection) == (
        "+12025550100", "lite", False)

    # Upload → preview and mapping → progress → report (the worker runs the import).
    page.click("text=Upload contacts")
    page.set_input_files("input[type=file]", files=[
        {"name": "callbacks.csv", "mimeType": "text/csv", "buffer": contacts_csv()}])
    assert page.locator("select[name=campaign]").input_value() == str(campaign.pk)
    screenshot(page, "flow-03-upload")
    page.click("button:has-text('Upload and preview')")
    page.wait_for_url(re.compile(r"/imports/\d+/mapping/$"))
    assert "+12025550103" in page.locator(".preview-wrap").inner_text()
    screenshot(page, "flow-04-mapping")
    page.click("button:has-text('Start the import')")
    page.wait_for_selector("#status.import-done")  # the page reloads itself when the import ends
    assert page.locator("#imported").inner_text() == "1"
    screenshot(page, "flow-05-import-report")
    assert ContactImport.objects.get().status == ContactImport.Status.DONE
    lead = Lead.objects.select_related("customer").get(campaign=campaign)
    assert (lead.customer.full_name, lead.state) == ("Grace Hopper", Lead.State.PENDING)

    page.click("text=Go to Autumn callbacks")
    page.wait_for_url(f"{server}/campaigns/{campaign.pk}/")
    page.click(f"form[action='/campaigns/{campaign.pk}/start/'] button")
    page.wait_for_selector("h1 .badge.status-running")
    page.wait_for_selector("#live-state.live")
    page.evaluate("window.notReloaded = true")
    page.evaluate(WATCH_BOARD)

    # The call appears on the board by itself, and its last line follows the conversation.
    row = page.locator("#call-board tr[data-call-id]")
    row.wait_for()
    call = Call.objects.get(campaign=campaign)
    assert "Grace Hopper" in row.inner_text()
    page.wait_for_selector(f'tr[data-call-id="{call.pk}"] .badge.status-in-progress')
    page.wait_for_function("window.seenOnBoard.some(t => t.startsWith('Bot:'))")

    # Open the call (in a second tab, so the board stays open too) while it runs.
    call_page = browser.new_page()
    call_page.goto(server + row.locator("a").first.get_attribute("href"))
    assert call_page.url == f"{server}/calls/{call.pk}/"
    call_page.wait_for_selector("#live-state.live")
    call_page.evaluate("window.notReloaded = true")
    bubbles_at_open = call_page.locator(".bubble").count()

    # The caller answers the greeting: a new last line on the board, a new bubble on the call.
    page.wait_for_function("window.seenOnBoard.some(t => t.startsWith('Caller:'))")
    page.wait_for_function(  # the duration ticks
        f"/\\d+:\\d\\d/.test(document.querySelector('tr[data-call-id=\"{call.pk}\"] "
        "[data-field=duration]').textContent)")
    screenshot(page, "flow-06-campaign-live-board")
    call_page.wait_for_selector(".bubble.caller")
    call_page.wait_for_function(f"document.querySelectorAll('.bubble').length > {bubbles_at_open}")
    screenshot(call_page, "flow-07-call-live")
    assert "call me back" in call_page.locator(".bubble.caller").first.inner_text().lower()
    seen = page.evaluate("window.seenOnBoard")
    first_bot = next(i for i, text in enumerate(seen) if text.startswith("Bot:"))
    first_caller = next(i for i, text in enumerate(seen) if text.startswith("Caller:"))
    assert first_bot < first_caller, seen

    # The call ends: status, outcome and the recording player arrive in place.
    call_page.wait_for_selector("#recording audio")
    call_page.wait_for_selector("h1 .badge.status-completed")
    call_page.wait_for_function(
        "document.querySelector('[data-field=disposition]').textContent.includes('Callback requested')")
    src = call_page.locator("#recording audio").get_attribute("src")
    assert src == f"/calls/{call.pk}/recording/"
    recording = call_page.request.get(server + src, headers={"Range": "bytes=0-11"})
    assert recording.status == 206 and recording.body()[:4] == b"RIFF"
    screenshot(call_page, "flow-08-call-ended-with-recording")
    page.wait_for_selector(".board-empty:not([hidden])")  # the board lets the ended call go
    assert page.evaluate("window.notReloaded") is True
    assert call_page.evaluate("window.notReloaded") is True

    call.refresh_from_db()
    lead.refresh_from_db()
    assert (call.status, call.disposition) == (Call.Status.COMPLETED, "callback_requested")
    assert call.recording.name.endswith(".wav")
    assert lead.last_outcome == "callback_requested" and lead.callback_at is not None

    page.goto(f"{server}/campaigns/{campaign.pk}/")
    page.wait_for_selector(".board-empty:not([hidden])")
    screenshot(page, "flow-09-campaign-after-the-call")
    page.goto(f"{server}/admin/calls/call/{call.pk}/change/")
    assert page.locator(f'a[href="/calls/{call.pk}/recording/"]').is_visible()
    screenshot(page, "flow-10-admin-call")
