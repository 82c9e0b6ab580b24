import pytest

from tests import factory

pytestmark = pytest.mark.django_db

STAFF_PAGES = ["/campaigns/", "/admin/", "/admin/calls/call/", "/admin/campaigns/campaign/",
               "/admin/campaigns/customer/", "/admin/campaigns/lead/", "/admin/campaigns/donotcall/",
               "/admin/calls/callevent/", "/admin/calls/transcriptline/"]


@pytest.mark.parametrize("url", STAFF_PAGES)
def test_it_sends_an_anonymous_visitor_to_log_in(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert "login" in response["Location"]


@pytest.mark.parametrize("url", STAFF_PAGES)
def test_it_loads_for_a_superuser(client, url):
    client.force_login(factory.superuser())
    assert client.get(url).status_code == 200


def test_the_dashboard_loads_for_staff_and_lists_campaigns(staff_client):
    factory.campaign()
    response = staff_client.get("/campaigns/")
    assert response.status_code == 200
    assert b"Summer sale" in response.content


def test_the_dashboard_refuses_a_signed_in_non_staff_user(client, stranger):
    client.force_login(stranger)
    assert client.get("/campaigns/").status_code == 403


def test_the_root_leads_to_the_campaigns(staff_client):
    assert staff_client.get("/")["Location"] == "/campaigns/"


def test_the_login_page_is_served_with_the_projects_own_stylesheet(client):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert b"/static/css/dialer.css" in response.content
    assert b"http" not in response.content.split(b"dialer.css")[0].rsplit(b'href="', 1)[1]
