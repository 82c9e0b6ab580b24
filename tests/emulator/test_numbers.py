"""The account's numbers (IncomingPhoneNumbers) through the twilio package, and caller IDs
the account refuses."""

from __future__ import annotations

import pytest
import requests
from twilio.base.exceptions import TwilioRestException

from .conftest import ACCOUNT_SID, AUTH_TOKEN, SCENARIO, make_emulator

AUTH = (ACCOUNT_SID, AUTH_TOKEN)
HOLD = "<Response><Pause length='30'/></Response>"
NUMBERS = [{"phone_number": "+12025550100", "friendly_name": "Washington"},
           {"phone_number": "+13125550100"},
           {"phone_number": "+14155550100", "refuse_caller_id": 21210}]


@pytest.fixture
def emulator(product, tmp_path):
    with make_emulator(product, tmp_path, scenario={**SCENARIO, "numbers": NUMBERS}) as running:
        yield running


def test_it_lists_the_accounts_numbers_in_pages(client, emulator):
    numbers = client.incoming_phone_numbers.list(page_size=2)

    assert [n.phone_number for n in numbers] == ["+12025550100", "+13125550100", "+14155550100"]
    first = numbers[0]
    assert first.sid.startswith("PN") and len(first.sid) == 34
    assert first.friendly_name == "Washington"
    assert numbers[1].friendly_name == "(312) 555-0100"  # Twilio's default: the number, formatted
    assert first.capabilities["voice"] is True
    assert first.uri == f"/2010-04-01/Accounts/{ACCOUNT_SID}/IncomingPhoneNumbers/{first.sid}.json"
    assert client.incoming_phone_numbers(first.sid).fetch().phone_number == "+12025550100"
    chicago = client.incoming_phone_numbers.list(phone_number="+13125550100")
    assert [n.sid for n in chicago] == [numbers[1].sid]


def test_the_list_is_paged_as_twilio_pages_it(emulator):
    url = f"{emulator.base_url}/2010-04-01/Accounts/{ACCOUNT_SID}/IncomingPhoneNumbers.json"
    body = requests.get(url, params={"PageSize": 2}, auth=AUTH, timeout=5).json()

    assert len(body["incoming_phone_numbers"]) == 2
    assert (body["page"], body["page_size"], body["start"], body["end"]) == (0, 2, 0, 1)
    assert body["next_page_uri"].endswith("PageSize=2&Page=1")
    last = requests.get(emulator.base_url + body["next_page_uri"], auth=AUTH, timeout=5).json()
    assert [n["phone_number"] for n in last["incoming_phone_numbers"]] == ["+14155550100"]
    assert last["next_page_uri"] is None


def test_it_refuses_a_caller_id_marked_refused_and_places_calls_from_the_others(client, emulator):
    with pytest.raises(TwilioRestException) as refused:
        client.calls.create(to="+15005550199", from_="+14155550100", twiml=HOLD)
    assert (refused.value.status, refused.value.code) == (400, 21210)
    assert "+14155550100" in refused.value.msg
    assert not emulator.calls()  # nothing was placed

    call = client.calls.create(to="+15005550199", from_="+13125550100", twiml=HOLD)
    assert emulator.get_call(call.sid)["from"] == "+13125550100"


def test_a_number_can_be_refused_and_reinstated_while_running(client, emulator):
    emulator.set_number("+13125550100", refuse_caller_id=21212)
    with pytest.raises(TwilioRestException) as refused:
        client.calls.create(to="+15005550199", from_="+13125550100", twiml=HOLD)
    assert refused.value.code == 21212

    response = requests.post(f"{emulator.base_url}/_emulator/numbers.json", auth=AUTH,
                             json={"phone_number": "+13125550100", "refuse_caller_id": None}, timeout=5)
    assert response.status_code == 201
    assert client.calls.create(to="+15005550199", from_="+13125550100", twiml=HOLD).status == "queued"
    assert len(client.incoming_phone_numbers.list()) == 3  # changed, not added twice


def test_a_bad_number_entry_is_refused_with_the_reason(emulator):
    response = requests.post(f"{emulator.base_url}/_emulator/numbers.json", auth=AUTH,
                             json={"phone_number": "312-555", "refuse_caller_id": 21210}, timeout=5)
    assert response.status_code == 400
    assert "E.164" in response.json()["message"]
