"""What an operator relies on: production settings pass Django's deploy checks, and the
health endpoint tells a load balancer whether this process can do its work."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from celery.contrib.testing.worker import start_worker

from calls import capacity
from dialer_site.celery import app
from tests.web_processes import forget_all, web_process

ROOT = Path(__file__).resolve().parents[2]


def test_production_settings_pass_the_deploy_checks_with_no_warning():
    env = {"PATH": os.environ["PATH"], "READ_DOTENV": "false", "DEBUG": "false",
           "SECRET_KEY": secrets.token_urlsafe(60), "ALLOWED_HOSTS": "dialer.example.com",
           "TWILIO_AUTH_TOKEN": "production-token", "DATABASE_URL": os.environ["DATABASE_URL"],
           "REDIS_URL": os.environ["REDIS_URL"]}
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.fixture(autouse=True)
def no_web_process_beats():
    forget_all()
    yield
    forget_all()


# Celery's Django fix-up closes database connections when the worker starts; only a
# transactional test can reconnect afterwards.
@pytest.mark.django_db(transaction=True)
def test_health_is_ok_when_database_redis_and_a_worker_answer(client):
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        response = client.get("/health/")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body == {"database": "ok", "redis": "ok", "workers": "ok", "status_callbacks": "ok",
                    "dialling": "failing", "media_streams": "ok", "status": "ok"}  # no web process beats


@pytest.mark.django_db
def test_health_names_what_is_missing_to_staff(staff_client):
    response = staff_client.get("/health/")  # no worker runs for this test's queue
    assert response.status_code == 503
    assert "no Celery worker answered" in response.json()["workers"]


@pytest.mark.django_db
def test_health_reports_an_unreachable_redis_to_staff(staff_client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:9/0"
    body = staff_client.get("/health/").json()
    assert body["redis"].startswith("unreachable") and body["status"] == "unhealthy"


@pytest.mark.django_db
def test_health_tells_an_anonymous_caller_only_ok_or_failing(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:9/0"
    response = client.get("/health/")
    assert response.status_code == 503
    assert response.json() == {"database": "ok", "redis": "failing", "workers": "failing",
                               "status_callbacks": "failing", "dialling": "failing", "media_streams": "ok",
                               "status": "unhealthy"}
    # No exception text, host or port for whoever asks.
    assert b"127.0.0.1" not in response.content and b"Error" not in response.content


@pytest.mark.django_db
def test_health_tells_staff_how_many_calls_this_process_holds_and_whether_it_takes_more(staff_client):
    load = capacity.this_process()
    streams = [load.admit() for _ in range(load.capacity)]
    try:
        full = staff_client.get("/health/").json()["media_streams"]
        streams.pop().release()
        room = staff_client.get("/health/").json()["media_streams"]
    finally:
        for stream in streams:
            stream.release()
    assert full == (f"refusing: this process is full ({load.capacity} of "
                    f"MEDIA_STREAMS_PER_PROCESS={load.capacity} streams live)")
    assert room == f"ok ({load.capacity - 1} of {load.capacity} live)"


@pytest.mark.django_db
def test_health_tells_staff_whether_the_web_processes_have_room_to_dial(staff_client):
    assert staff_client.get("/health/").json()["dialling"].startswith(
        "held: No web process is live, so nothing is dialled")
    web_process("web-a", 8, calls=3)
    assert staff_client.get("/health/").json()["dialling"] == "ok (room for 5 calls on 1 web processes)"
