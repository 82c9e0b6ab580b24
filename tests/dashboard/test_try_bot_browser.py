"""Trying a campaign's bot from its page, in Debian's Chromium against real daphne, Redis and
the Twilio emulator: "Call me" phones one number through the emulator and the campaign's
figures do not move; "Talk in the browser" puts Chromium's (fake) microphone on the bot and
the bot's answer appears in the page's transcript, with nothing dialled."""

import subprocess
import wave

import pytest

from calls.models import Call
from campaigns.models import Lead
from tests import factory
from tests.dashboard.accessibility import blocking_violations
from tests.dashboard.browser import READ_CAMPAIGN_PAGE, chromium, log_in, screenshot
from tests.waiting import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WAIT_MS = 60_000
# Chromium plays the fake microphone's file from the moment the page has the microphone:
# the caller waits for the greeting, answers, and says it again a little later (the lite
# stack's recogniser mishears espeak-ng now and then; the bot then asks again), then is
# silent (%noloop). (seconds of silence before, words)
CALLER_SAYS = [(7, "Yes, I am interested."), (5, "I am interested.")]


def campaign_with_history():
    """A running campaign with figures to keep still: a finished call and three leads."""
    campaign = factory.campaign(name="Winter offers", status="running", answering_machine_detection=False)
    done = factory.lead(campaign, state="done", last_outcome="interested", attempts=1,
                        customer=factory.customer(first_name="Ivy", last_name="Keen"))
    factory.call(done, status="completed", disposition="interested", duration_seconds=30,
                 answered_by="human")
    factory.lead(campaign, state="failed", last_outcome="busy", attempts=3)
    grace = factory.lead(campaign, customer=factory.customer(first_name="Grace", last_name="Hopper"))
    return campaign, grace


def leads_as_stored(campaign):
    return list(Lead.objects.filter(campaign=campaign).order_by("pk")
                .values_list("state", "attempts", "last_outcome", "next_attempt_at"))


def test_call_me_places_one_test_call_and_moves_no_figure(emulated_twilio, status_callback_applier,
                                                          chrome, boss):
    server = emulated_twilio.url
    campaign, grace = campaign_with_history()
    leads_before = leads_as_stored(campaign)
    # One page watches the campaign all along: nothing of the test may reach it.
    staff_member = chrome.new_context(viewport={"width": 1366, "height": 900})
    watching = staff_member.new_page()
    watching.set_default_timeout(WAIT_MS)
    log_in(watching, server, "boss", "pw-boss-12345")
    watching.goto(f"{server}/campaigns/{campaign.pk}/")
    watching.wait_for_selector("#live-state.live")
    figures_before = watching.evaluate(READ_CAMPAIGN_PAGE)
    assert figures_before["progress"] == "2 / 3"
    assert blocking_violations(watching) == []

    page = staff_member.new_page()
    page.set_default_timeout(WAIT_MS)
    page.goto(f"{server}/campaigns/{campaign.pk}/")
    # The callee ending 02 says no thanks; Grace lends her name to the greeting.
    page.fill("#test-phone", "+1 202 555 0102")
    page.select_option("#test-lead", str(grace.pk))
    screenshot(page, "try-bot-01-call-me-form")
    page.click("#call-me button[type=submit]")
    page.wait_for_url(f"{server}/calls/*/")
    call = Call.objects.exclude(test="").get()
    assert (call.test, call.to_number, call.lead, call.customer) == ("phone", "+12025550102", None, None)
    # The call page follows the test call: its header's status too, without a reload.
    page.wait_for_selector("h1 .badge.status-in-progress")
    assert watching.evaluate("document.querySelector('[data-summary=live_calls]').textContent.trim()") == "0"
    page.wait_for_selector(".bubble.bot >> text=Grace")
    page.wait_for_selector("h1 .badge.status-completed")
    screenshot(page, "try-bot-02-call-me-done")

    [dialled] = emulated_twilio.twilio.calls()
    assert (dialled["to"], dialled["sid"]) == ("+12025550102", call.call_sid)
    call.refresh_from_db()
    assert (call.status, call.disposition) == ("completed", "not_interested")
    assert leads_as_stored(campaign) == leads_before
    assert Call.objects.count() == 2  # the campaign's one call and the test
    # The page that watched saw nothing change, and a reload shows the same.
    assert watching.evaluate(READ_CAMPAIGN_PAGE) == figures_before
    watching.reload()
    watching.wait_for_selector("#live-state.live")
    assert watching.evaluate(READ_CAMPAIGN_PAGE) == figures_before
    assert "test call to a phone +12025550102, completed" in watching.text_content("#try-bot")
    screenshot(watching, "try-bot-03-campaign-unchanged")


@pytest.fixture
def speech_wav(tmp_path):
    """The caller's words, spoken by espeak-ng between silences, as Chromium's microphone."""
    path = tmp_path / "caller.wav"
    with wave.open(str(path), "wb") as out:
        for n, (silence, words) in enumerate(CALLER_SAYS):
            spoken = tmp_path / f"spoken-{n}.wav"
            subprocess.run(["espeak-ng", "-v", "en-us", "-s", "140", "-w", str(spoken), words], check=True)
            with wave.open(str(spoken)) as source:
                params, frames = source.getparams(), source.readframes(source.getnframes())
            if n == 0:
                out.setparams(params)
            second = b"\0" * params.sampwidth * params.framerate
            out.writeframes(second * silence + frames)
        out.writeframes(second * 3)
    return path


def test_talk_in_the_browser_hears_the_microphone_and_answers(emulated_twilio, speech_wav, boss):
    server = emulated_twilio.url
    campaign, grace = campaign_with_history()
    leads_before = leads_as_stored(campaign)
    with chromium("--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                  f"--use-file-for-fake-audio-capture={speech_wav}%noloop",
                  "--autoplay-policy=no-user-gesture-required") as browser:
        page = browser.new_page(viewport={"width": 1366, "height": 900})
        page.set_default_timeout(WAIT_MS)
        log_in(page, server, "boss", "pw-boss-12345")
        page.goto(f"{server}/campaigns/{campaign.pk}/")
        page.click("text=Talk in the browser")
        page.select_option("#talk-lead", str(grace.pk))
        page.click("#talk-lead ~ button[type=submit]")
        page.wait_for_url(f"{server}/campaigns/{campaign.pk}/talk/?lead={grace.pk}")
        assert blocking_violations(page) == []
        page.click("#talk-start")
        page.wait_for_selector("#talk-start[aria-pressed=true]")
        page.wait_for_selector("#talk-transcript .bubble.bot >> text=Grace")
        page.wait_for_selector("#talk-transcript .bubble.caller")
        # The bot heard the caller and answered: a bot line after the caller's, a tool used.
        page.wait_for_selector("#talk-transcript .bubble.caller ~ .bubble.bot")
        page.wait_for_selector("#talk-tools >> text=set_outcome")
        # Which outcome depends on what the offline recogniser made of espeak-ng's words (the
        # second sentence is sometimes heard as another reply); that one reached the page live.
        page.wait_for_function("document.getElementById('talk-outcome').textContent.trim() !== '—'")
        screenshot(page, "try-bot-04-talk-in-the-browser")
        assert blocking_violations(page) == []
        page.wait_for_selector("#talk-start[aria-pressed=false]")  # the bot said goodbye and hung up
        screenshot(page, "try-bot-05-talk-ended")

    session = Call.objects.get(test="browser")
    assert (session.campaign, session.lead, session.tested_by.username) == (campaign, None, "boss")
    finished = Call.objects.filter(pk=session.pk, status="completed").exclude(summary="")
    wait_until(finished.exists, 20)
    lines = list(session.transcript.values_list("speaker", flat=True))
    assert lines[0] == "bot" and "caller" in lines
    assert emulated_twilio.twilio.calls() == []  # nothing was dialled
    assert leads_as_stored(campaign) == leads_before
