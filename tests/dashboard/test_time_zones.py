"""Whose clock the pages show: the staff member's chosen zone (Your settings), else the
browser's (the cookie times.js sets), else UTC; every time names its zone, and lead rows
add the callee's own time."""

from datetime import UTC, datetime

import pytest

from tests import factory

pytestmark = pytest.mark.django_db

CALLBACK = datetime(2026, 12, 2, 21, 0, tzinfo=UTC)


@pytest.fixture
def campaign_with_callback():
    campaign = factory.campaign()
    factory.lead(campaign, timezone="America/Los_Angeles", callback_at=CALLBACK, next_attempt_at=CALLBACK)
    return campaign


def test_times_name_the_browsers_zone_and_the_callees(client, staff, campaign_with_callback):
    client.force_login(staff)
    client.cookies["browser_time_zone"] = "Europe/Berlin"
    page = client.get(f"/campaigns/{campaign_with_callback.pk}/").content.decode()
    assert f'<time datetime="{CALLBACK.isoformat()}" data-style="datetime">Dec 2, 22:00 CET</time>' in page
    assert (f'<time datetime="{CALLBACK.isoformat()}" data-style="clock" data-zone="America/Los_Angeles">'
            "13:00 PST</time> their time") in page
    assert "<body>" in page  # no chosen zone: the browser's, as times.js finds it


def test_a_chosen_zone_wins_over_the_browsers(client, staff, campaign_with_callback):
    client.force_login(staff)
    client.cookies["browser_time_zone"] = "Europe/Berlin"
    response = client.post("/account/", {"time_zone": "America/Chicago"})
    assert response.status_code == 302
    assert staff.staff_profile.time_zone == "America/Chicago"
    page = client.get(f"/campaigns/{campaign_with_callback.pk}/").content.decode()
    assert '<body data-time-zone="America/Chicago">' in page
    assert ">Dec 2, 15:00 CST</time>" in page
    # Signing in again reads it from the profile.
    client.logout()
    client.login(username="alice", password="pw-alice-123")
    again = client.get(f"/campaigns/{campaign_with_callback.pk}/").content.decode()
    assert ">Dec 2, 15:00 CST</time>" in again


def test_an_unknown_zone_is_refused_where_it_is_chosen(client, staff):
    client.force_login(staff)
    response = client.post("/account/", {"time_zone": "Mars/Olympus"})
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
