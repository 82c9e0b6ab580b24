"""In a real browser against real daphne and Redis: log in, watch a call appear on the board
and its transcript grow without reloading, survive a server restart, hear the recording."""

import wave

import pytest
from django.utils import timezone

from calls import live
from calls.models import Call
from tests import factory
from tests.dashboard.browser import committed, log_in, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def say(call, speaker, text, offset_ms):
    committed(lambda: live.publish_transcript(factory.line(call, speaker, text, offset_ms)))


def move(call, **fields):
    def change():
        for name, value in fields.items():
            setattr(call, name, value)
        call.save(update_fields=list(fields))
        live.publish_call(call)

    committed(change)


def write_recording(media_root, call):
    path = media_root / "recordings" / f"call-{call.pk}.wav"
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(8000)
        w.writeframes(b"\x00\x00" * 8000)
    return f"recordings/call-{call.pk}.wav"


def test_it_shows_calls_and_transcripts_live(server, chrome, boss):
    campaign = factory.campaign(name="Spring renewals", status="running")
    lead = factory.lead(campaign, state="dialing",
                        customer=factory.customer(first_name="Grace", last_name="Hopper"))
    factory.lead(campaign, state="done", last_outcome="interested")
    factory.lead(campaign, state="done", last_outcome="no_answer")
    page = chrome.new_page(viewport={"width": 1366, "height": 900})
    log_in(page, server.url, "boss", "pw-boss-12345")
    screenshot(page, "01-campaigns")

    page.goto(f"{server.url}/campaigns/{campaign.pk}/")
    page.wait_for_selector("#live-state.live")
    call = committed(lambda: factory.call(lead, status="queued"))
    move(call, status="ringing")
    row = page.locator(f'#call-board tr[data-call-id="{call.pk}"]')
    row.wait_for()
    assert "Ringing" in row.inner_text() and "Grace Hopper" in row.inner_text()

    move(call, status="in-progress", answered_at=timezone.now(), answered_by="human")
    say(call, "bot", "Hello Grace, this is the assistant from Spring renewals.", 400)
    page.wait_for_function(
        f"document.querySelector('tr[data-call-id=\"{call.pk}\"] [data-field=last_line]')"
        ".textContent.includes('assistant from Spring')")
    say(call, "caller", "Oh, hello. Is this about my subscription?", 3200)
    page.wait_for_function(
        f"document.querySelector('tr[data-call-id=\"{call.pk}\"] [data-field=last_line]')"
        ".textContent.includes('my subscription')")
    assert "In progress" in row.inner_text()
    page.wait_for_function(  # the duration ticks
        f"/\\d+:\\d\\d/.test(document.querySelector('tr[data-call-id=\"{call.pk}\"] "
        "[data-field=duration]').textContent)")
    screenshot(page, "02-campaign-detail-live")
    tablet = chrome.new_page(viewport={"width": 820, "height": 1180}, device_scale_factor=1)
    tablet.context.add_cookies(page.context.cookies())
    tablet.goto(f"{server.url}/campaigns/{campaign.pk}/")
    tablet.wait_for_selector(f'tr[data-call-id="{call.pk}"]')
    screenshot(tablet, "03-campaign-detail-tablet")
    tablet.close()

    page.click(f'tr[data-call-id="{call.pk}"] a')
    page.wait_for_url(f"{server.url}/calls/{call.pk}/")
    page.wait_for_selector("#live-state.live")
    assert page.locator(".bubble").count() == 2
    say(call, "bot", "It is. Would you like to renew at this year's price?", 6100)
    page.wait_for_function("document.querySelectorAll('.bubble').length === 3")

    # The server goes away; a line is spoken meanwhile; the page catches up when it returns.
    server.stop()
    page.wait_for_selector("#live-state.down")
    committed(lambda: factory.line(call, "caller", "Yes, please renew it.", 9000))
    server.start()
    page.wait_for_function("document.querySelectorAll('.bubble').length === 4", timeout=30000)
    assert page.locator(".bubble.caller").last.inner_text().endswith("Yes, please renew it.")

    recording = write_recording(server.media_root, call)
    move(call, status="completed", ended_at=timezone.now(), duration_seconds=42,
         disposition="interested", recording=recording, summary="Renewed at this year's price.")
    page.wait_for_selector("#recording audio")
    page.wait_for_function("document.querySelector('[data-field=disposition]').textContent.includes('Interested')")
    assert "Completed" in page.locator("h1 .badge").inner_text()
    response = page.request.get(f"{server.url}/calls/{call.pk}/recording/", headers={"Range": "bytes=0-99"})
    assert response.status == 206 and len(response.body()) == 100
    page.reload()
    screenshot(page, "04-call-detail")

    for name, path in [
        ("05-calls", "/calls/"), ("06-inbound", "/calls/inbound/"),
        ("07-customers", "/customers/?q=Hopper"), ("08-customer", f"/customers/{lead.customer_id}/"),
        ("09-campaign-edit", f"/campaigns/{campaign.pk}/edit/"),
        ("10-admin-call", f"/admin/calls/call/{call.pk}/change/"),
        ("11-admin-campaigns", "/admin/campaigns/campaign/"),
    ]:
        page.goto(server.url + path)
        assert page.locator("body").inner_text()
        screenshot(page, name)


def test_the_admin_call_page_streams_the_transcript(server, chrome, boss):
    campaign = factory.campaign(status="running")
    call = factory.answer(factory.call(factory.lead(campaign)))
    page = chrome.new_page()
    log_in(page, server.url, "boss", "pw-boss-12345")
    page.goto(f"{server.url}/admin/calls/call/{call.pk}/change/")
    page.wait_for_timeout(500)  # let the socket subscribe
    say(call, "caller", "Hello from the admin test", 1000)
    page.wait_for_selector(".live-panel .bubble.caller")
    move(call, status="completed", ended_at=timezone.now(), duration_seconds=5)
    page.wait_for_function(
        "document.querySelector('.live-panel [data-field=status]').textContent === 'Completed'")
    assert Call.objects.get(pk=call.pk).status == "completed"


def test_strangers_get_no_socket(server, chrome, django_user_model):
    django_user_model.objects.create_user("eve", "eve@example.com", "pw-eve-123456")
    page = chrome.new_page()
    page.goto(f"{server.url}/accounts/login/")
    page.fill("input[name=username]", "eve")
    page.fill("input[name=password]", "pw-eve-123456")
    page.click("button[type=submit]")
    page.wait_for_load_state()
    opened = page.evaluate("""() => new Promise((resolve) => {
        const ws = new WebSocket(`ws://${location.host}/ws/dashboard/`);
        ws.onopen = () => resolve(true); ws.onclose = () => resolve(false); })""")
    assert opened is False
