"""Taking over a live call from its page, in a browser, through the Twilio emulator: a staff
member types their number and presses "Take over"; their phone rings, the caller is bridged
to it from the campaign's number, and the call ends transferred to them. Real daphne,
Redis, worker and the emulator's callee talking to the bot."""

import pytest

from calls.models import Call, TransferAttempt
from dialer_site.staff.models import StaffProfile
from tests import factory
from tests.dashboard.accessibility import blocking_violations
from tests.dashboard.browser import screenshot
from tests.waiting import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

STAFF_PHONE = "+12025550194"  # the emulator's brief agent: answers, says hello, hangs up 8 s in


def test_staff_take_over_a_live_call_from_its_page(emulated_twilio, live_call_page, boss):
    server = emulated_twilio.url
    # A bot that never ends the call itself, so the take-over does not race its goodbye.
    patient = {"rules": [{"keywords": ["interested"], "reply": "Good to hear.", "end": False}],
               "max_fallbacks": 10}
    campaign = factory.campaign(name="Winter offers", status="running", answering_machine_detection=False,
                                script=patient)
    call, page = live_call_page(campaign)  # Ivy, interested, stays on the line for 40 s
    page.fill("#id_to_number", "202-555-0194")  # national: read as the caller ID's country
    assert blocking_violations(page) == []
    page.click("#take-over button[type=submit]")
    page.wait_for_selector(f"text=Ringing {STAFF_PHONE}")
    screenshot(page, "take-over-ringing")

    attempt = TransferAttempt.objects.get(call=call)
    assert (attempt.target, attempt.mode, attempt.requested_by, attempt.reason) == (
        STAFF_PHONE, "cold", "boss", "taken over by boss")
    assert StaffProfile.objects.get(user=boss).phone == STAFF_PHONE
    # The emulator: the caller bridged to the staff member's phone, showing the campaign's number.
    twilio = emulated_twilio.twilio

    def bridged():
        entries = twilio.get_call(call.call_sid)["timeline"]["entries"]
        return [e for e in entries if e["kind"] == "dial_bridged"]

    (bridge,) = wait_until(bridged, 30, interval=0.3)
    assert bridge["text"] == f"bridged +12025550101 to {STAFF_PHONE} from +12025550100"
    # Transferred from the answer on; the staff member hangs up 8 s in, and the call is over.
    wait_until(lambda: Call.objects.filter(pk=call.pk, disposition="transferred").exists(), 20, interval=0.3)
    call.refresh_from_db()
    assert call.transferred_to == STAFF_PHONE
    wait_until(lambda: Call.objects.filter(pk=call.pk, status="completed").exists(), 30, interval=0.3)
    attempt.refresh_from_db()
    assert attempt.status == "answered" and attempt.agent_call_sid and attempt.duration_secs

    # The page of the ended call offers no take-over; the remembered number waits for the next.
    page.goto(f"{server}/calls/{call.pk}/")
    assert page.locator("#take-over").count() == 0
    assert "Transferred to a person" in page.locator("#call-outcome").inner_text()
