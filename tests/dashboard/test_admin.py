"""The admin: live status in the lists, the live panel on a call, and the actions."""

import pytest

from campaigns.models import Campaign, DoNotCall
from tests import factory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, db):
    client.force_login(factory.superuser())
    return client


def act(admin_client, url, action, ids):
    return admin_client.post(url, {"action": action, "_selected_action": [str(i) for i in ids]}, follow=True)


def test_it_starts_and_pauses_campaigns_from_the_list(admin_client, campaign):
    factory.lead(campaign)
    broken = factory.campaign(name="No contacts")
    response = act(admin_client, "/admin/campaigns/campaign/", "start_campaigns", [campaign.pk, broken.pk])
    html = response.content.decode()
    assert "Started 1 campaign." in html
    assert "No contacts: The campaign cannot start yet." in html
    campaign.refresh_from_db(), broken.refresh_from_db()
    assert (campaign.status, broken.status) == ("running", "draft")

    act(admin_client, "/admin/campaigns/campaign/", "pause_campaigns", [campaign.pk])
    campaign.refresh_from_db()
    assert campaign.status == "paused" and "root" in campaign.status_reason
    act(admin_client, "/admin/campaigns/campaign/", "resume_campaigns", [campaign.pk])
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.RUNNING


def test_the_campaign_list_shows_live_calls(admin_client, campaign, live_call):
    html = admin_client.get("/admin/campaigns/campaign/").content.decode()
    assert '<span data-summary="live_calls">1</span>' in html
    assert "/static/js/live.js" in html and "data-live-campaigns" in html


def test_it_marks_customers_and_leads_do_not_call(admin_client, campaign):
    lead = factory.lead(campaign)
    other = factory.customer()
    act(admin_client, "/admin/campaigns/customer/", "mark_do_not_call", [other.pk])
    act(admin_client, "/admin/campaigns/lead/", "mark_do_not_call", [lead.pk])
    assert set(DoNotCall.objects.values_list("phone", flat=True)) == {other.phone, lead.customer.phone}
    act(admin_client, "/admin/campaigns/customer/", "unmark_do_not_call", [other.pk])
    assert set(DoNotCall.objects.values_list("phone", flat=True)) == {lead.customer.phone}


def test_the_call_list_shows_live_status_badges(admin_client, live_call):
    html = admin_client.get("/admin/calls/call/").content.decode()
    assert f'data-call-status="{live_call.pk}" data-status="in-progress"' in html
    assert "/static/js/live.js" in html


def test_the_call_change_page_has_the_live_transcript(admin_client, live_call):
    html = admin_client.get(f"/admin/calls/call/{live_call.pk}/change/").content.decode()
    assert f'data-live-call="{live_call.pk}"' in html
    assert f'data-live-url="/calls/{live_call.pk}/live.json"' in html
    assert 'class="bubble caller"' in html and "what&#x27;s this about?" in html


def test_the_call_change_page_links_the_recording_to_the_staff_view_not_media(admin_client, live_call):
    live_call.recording = "recordings/2025/06/01/call-1.wav"
    live_call.save(update_fields=["recording"])
    html = admin_client.get(f"/admin/calls/call/{live_call.pk}/change/").content.decode()
    assert f'<a href="/calls/{live_call.pk}/recording/">Play or download the recording</a>' in html
    assert "/media/recordings/" not in html and "Currently:" not in html
    assert 'name="recording"' not in html  # read-only: no file input to replace it


def test_a_call_without_a_recording_shows_no_link(admin_client, live_call):
    html = admin_client.get(f"/admin/calls/call/{live_call.pk}/change/").content.decode()
    assert f"/calls/{live_call.pk}/recording/" not in html
