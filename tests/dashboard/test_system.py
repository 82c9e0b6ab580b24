"""The System page: every live web process with its load and capacity, the workers and the
status-callback backlog, for staff."""

import pytest
import redis
from django.conf import settings

from calls import status_stream
from tests.web_processes import forget_all, web_process

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_web_processes():
    forget_all()


def test_it_shows_each_web_process_with_its_calls_and_capacity(staff_client):
    web_process("web-a", 8, 3)
    web_process("web-b", 8, 0, draining=True)
    redis.Redis.from_url(settings.REDIS_URL).xadd(status_stream.stream(), {"CallSid": "CA" + "1" * 32})

    page = staff_client.get("/system/").content.decode()

    assert "3 calls live; room for 5 more of 8." in page  # the draining one takes nothing
    assert "web-a:4242" in page and "10.0.0.8:8000" in page
    assert "Draining" in page and "Taking calls" in page
    assert "1 waiting to be applied" in page
    assert "No worker answered" in page  # none runs for this test's queue


def test_one_live_call_is_one_call(staff_client):
    web_process("web-a", 8, 1)
    assert "1 call live; room for 7 more of 8." in staff_client.get("/system/").content.decode()


def test_with_no_web_process_live_it_says_nothing_is_dialled(staff_client):
    part = staff_client.get("/system/status/").content.decode()
    assert "No web process is live: nothing is dialled" in part


def test_it_is_for_staff_only(client, stranger):
    assert client.get("/system/")["Location"].startswith("/accounts/login/")
    client.force_login(stranger)
    assert client.get("/system/").status_code == 403
    assert client.get("/system/status/").status_code == 403
