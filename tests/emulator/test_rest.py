"""The REST API, driven through the official twilio package."""

from __future__ import annotations

import pytest
import requests
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from .conftest import ACCOUNT_SID, APP_NUMBER

HOLD = "<Response><Pause length='30'/></Response>"


def test_it_creates_fetches_lists_and_hangs_up_a_call(client, emulator):
    call = client.calls.create(to="+15005550199", from_=APP_NUMBER, twiml=HOLD)

    assert call.sid.startswith("CA") and len(call.sid) == 34
    assert call.status == "queued"
    assert call.direction == "outbound-api"
    assert call.to == "+15005550199" and call._from == APP_NUMBER
    assert call.date_created is not None  # RFC 2822, parsed by twilio-python
    assert call.uri == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls/{call.sid}.json"

    emulator.wait_for_status(call.sid, "in-progress", timeout=5)
    fetched = client.calls(call.sid).fetch()
    assert fetched.status == "in-progress"
    assert fetched.start_time is not None

    listed = client.calls.list(to="+15005550199")
    assert [c.sid for c in listed] == [call.sid]

    ended = client.calls(call.sid).update(status="completed")
    assert ended.status == "completed"
    assert ended.end_time is not None
    timeline = emulator.get_call(call.sid)["timeline"]["entries"]
    assert any(e["kind"] == "rest_update" for e in timeline)


def test_it_cancels_a_call_that_is_still_ringing(client, emulator):
    call = client.calls.create(to="+15005550105", from_=APP_NUMBER, twiml=HOLD)  # never answers
    emulator.wait_for_status(call.sid, "ringing", timeout=5)

    assert client.calls(call.sid).update(status="canceled").status == "canceled"


def test_it_answers_20404_for_unknown_and_ended_calls(client, emulator):
    with pytest.raises(TwilioRestException) as unknown:
        client.calls("CA" + "0" * 32).fetch()
    assert unknown.value.status == 404 and unknown.value.code == 20404

    call = client.calls.create(to="+15005550199", from_=APP_NUMBER,
                               twiml="<Response><Hangup/></Response>")
    emulator.wait_for_status(call.sid, "completed", timeout=5)
    with pytest.raises(TwilioRestException) as ended:
        client.calls(call.sid).update(status="completed")
    assert ended.value.status == 404 and ended.value.code == 20404


def test_it_rejects_wrong_credentials_with_20003(emulator):
    stranger = Client(ACCOUNT_SID, "not-the-token")
    stranger.api.base_url = emulator.base_url

    with pytest.raises(TwilioRestException) as denied:
        stranger.calls.create(to="+15005550199", from_=APP_NUMBER, twiml=HOLD)

    assert denied.value.status == 401 and denied.value.code == 20003
    body = requests.get(f"{emulator.base_url}/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json",
                        auth=(ACCOUNT_SID, "nope"), timeout=5).json()
    assert body == {"code": 20003, "message": "Authenticate",
                    "more_info": "https://www.twilio.com/docs/errors/20003", "status": 401}
    assert emulator.calls() == []


@pytest.mark.parametrize(("params", "code"), [
    ({"to": "12345", "twiml": HOLD}, 21211),
    ({"to": "+1555abc", "twiml": HOLD}, 21211),
    ({"to": "+15005550199"}, 21205),
    ({"to": "+15005550199", "url": "ftp://example.com/x"}, 21205),
    ({"to": "+15005550199", "twiml": HOLD, "timeout": "soon"}, 21208),
    ({"to": "+15005550199", "twiml": HOLD, "status_callback_event": ["rung"]}, 21626),
    ({"to": "+15005550199", "twiml": HOLD, "machine_detection": "Maybe"}, 21234),
    ({"to": "+15005550199", "twiml": "<Response>" + "<Pause/>" * 600 + "</Response>"}, 32018),
])
def test_it_refuses_invalid_calls_with_twilios_codes(client, emulator, params, code):
    with pytest.raises(TwilioRestException) as refused:
        client.calls.create(from_=APP_NUMBER, **params)

    assert refused.value.status == 400 and refused.value.code == code
    assert emulator.calls() == []


def test_it_redirects_a_live_call_to_new_twiml(client, emulator):
    call = client.calls.create(to="+15005550199", from_=APP_NUMBER, twiml=HOLD)
    emulator.wait_for_status(call.sid, "in-progress", timeout=5)

    client.calls(call.sid).update(twiml="<Response><Say>Moving on</Say><Hangup/></Response>")

    done = emulator.wait_for_status(call.sid, "completed", timeout=5)
    kinds = [e["kind"] for e in done["timeline"]["entries"]]
    assert "redirected" in kinds
    assert any(e.get("text") == "Moving on" for e in done["timeline"]["entries"])
    assert done["end_reason"] == "<Hangup>"
