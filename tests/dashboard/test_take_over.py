"""Taking over a live call from its page: the staff member's number (remembered on their
profile) is checked, the call is handed to it by calls.transfers, and the page says what
happened; only staff, only by POST with the CSRF token, only while the call is live."""

import pytest
from django.test import Client

from calls import transfers
from dialer_site.staff.models import StaffProfile

pytestmark = pytest.mark.django_db


@pytest.fixture
def asked(monkeypatch):
    """What the page asked of calls.transfers (the hand-off itself is tested there)."""
    requests = []

    def request_transfer(call_id, **details):
        requests.append({"call_id": call_id, **details})
        return transfers.TransferRequest(True)

    monkeypatch.setattr(transfers, "request_transfer", request_transfer)
    return requests


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def test_the_live_call_page_offers_a_take_over_with_the_remembered_number(staff_client, staff, live_call):
    StaffProfile.objects.create(user=staff, phone="+12025550191")
    live_call.campaign.transfer_targets = ["+12025550192"]
    live_call.campaign.save()

    page = staff_client.get(f"/calls/{live_call.pk}/").content.decode()

    assert f'action="/calls/{live_call.pk}/take-over/"' in page
    assert 'name="to_number" id="id_to_number" value="+12025550191"' in page
    assert '<option value="+12025550192"></option>' in page  # the campaign's agents, to pick from


def test_an_ended_call_offers_no_take_over(staff_client, live_call):
    live_call.status = "completed"
    live_call.save()
    assert "take-over" not in staff_client.get(f"/calls/{live_call.pk}/").content.decode()


def test_it_hands_the_call_to_the_number_given_and_remembers_it(staff_client, staff, live_call, asked):
    response = staff_client.post(f"/calls/{live_call.pk}/take-over/", {"to_number": "(202) 555-0191"},
                                 follow=True)

    assert response.redirect_chain == [(f"/calls/{live_call.pk}/", 302)]
    assert messages_of(response) == ["Ringing +12025550191: answer it and the caller is put through to you."]
    assert asked == [{"call_id": live_call.pk, "reason": "taken over by alice", "summary": "",
                      "requested_by": "alice", "to_number": "+12025550191"}]
    assert StaffProfile.objects.get(user=staff).phone == "+12025550191"


def test_a_number_that_is_not_one_is_refused_saying_why(staff_client, staff, live_call, asked):
    response = staff_client.post(f"/calls/{live_call.pk}/take-over/", {"to_number": "555-12"}, follow=True)

    # Read as a national number of the caller ID's country.
    assert messages_of(response) == ["Not taken over: '555-12' is not a valid phone number for US."]
    assert asked == []
    assert not StaffProfile.objects.filter(user=staff).exclude(phone="").exists()


def test_a_call_that_is_no_longer_live_is_not_taken_over(staff_client, live_call):
    live_call.status = "completed"
    live_call.save()

    response = staff_client.post(f"/calls/{live_call.pk}/take-over/", {"to_number": "+12025550191"},
                                 follow=True)

    assert messages_of(response) == [
        "Not taken over: The call is not live (or is being transferred already)."]
    assert not live_call.transfers.exists()


def test_only_staff_take_over_by_post_with_the_csrf_token(client, stranger, staff, live_call, asked):
    url = f"/calls/{live_call.pk}/take-over/"
    assert client.post(url, {"to_number": "+12025550191"}).status_code == 302  # to the login page
    client.force_login(stranger)
    assert client.post(url, {"to_number": "+12025550191"}).status_code == 403
    careful = Client(enforce_csrf_checks=True)
    careful.force_login(staff)
    assert careful.post(url, {"to_number": "+12025550191"}).status_code == 403
    careful.force_login(staff)
    assert careful.get(url).status_code == 405
    assert asked == []


def test_the_profile_keeps_a_checked_number(staff_client, staff):
    response = staff_client.post("/account/", {"time_zone": "", "phone": "+1 202 555 0191"})
    assert response.status_code == 302
    assert StaffProfile.objects.get(user=staff).phone == "+12025550191"
    refused = staff_client.post("/account/", {"time_zone": "", "phone": "12"})
    assert "&#x27;12&#x27; is not a valid phone number" in refused.content.decode()
