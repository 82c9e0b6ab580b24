"""A real daphne process on the test database, and the Twilio emulator pointed at it.

The daphne subprocess shares the test database (transaction=True tests commit, so it sees
the rows) and the test Redis database (the Channels layer), so a test can listen to the
same groups the bot publishes on.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings

from twilio_emulator import EmulatorThread, Scenario, Timing
from voice_emulators import VoiceEmulatorsThread

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT_SID = "AC" + "b0" * 16
AUTH_TOKEN = "bot-tests-auth-token-0123456789"
VOICE_KEY = "bot-tests-voice-key-0123456789"

SCENARIO = {
    "defaults": {"ring": 0.1, "turn_silence": 0.6, "first_turn_timeout": 8},
    "callees": [
        {"pattern": "01$", "name": "interested", "script": [
            {"say": "Yes, I am interested. Tell me more."},
            {"say": "That sounds good. Yes please."},
            {"hangup_after": 40}]},
        {"pattern": "02$", "name": "not-interested", "script": [
            {"say": "No thanks, I am not interested."}, {"hangup_after": 30}]},
        {"pattern": "03$", "name": "callback", "script": [
            {"say": "I am busy right now. Please call me back tomorrow at ten."},
            {"hangup_after": 30}]},
        # A sentence a turn, each waiting for the bot: said in one breath, Smart Turn ends the
        # turn at the full stop and the bot's answer races the second sentence.
        {"pattern": "07$", "name": "do-not-call", "script": [
            {"say": "Please do not call me again."}, {"say": "Remove me from your list."},
            {"hangup_after": 30}]},
        {"pattern": "12$", "name": "not-interested-piper", "voice": "piper", "script": [
            {"say": "No thanks, I am not interested."}, {"hangup_after": 30}]},
        {"pattern": "09$", "name": "barge-in", "script": [
            {"barge_in": "No thanks, I am not interested."}, {"hangup_after": 30}]},
        {"pattern": "06$", "name": "voicemail", "behaviour": "machine",
         "greeting": "Hello, you have reached Sam. Please leave a message after the beep.",
         "listen": 15},
        {"pattern": "66$", "name": "silent", "script": [{"hangup_after": 30}]},
    ],
    "fallback": {"name": "polite", "script": [
        {"say": "Hello? Who is this?"}, {"say": "Okay, thank you. Goodbye."},
        {"hangup_after": 30}]},
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"daphne exited with {process.returncode}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError("daphne did not start listening")


def test_database_url() -> str:
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path="/" + settings.DATABASES["default"]["NAME"]))


def redis_url_with_slack() -> str:
    url = os.environ["REDIS_URL"]
    return url + ("&" if "?" in url else "?") + "socket_timeout=15"


def web_env(base_url: str, twilio_base_url: str, media_root: str, account_sid: str = ACCOUNT_SID,
            auth_token: str = AUTH_TOKEN) -> dict[str, str]:
    """A web process's environment: the test database and Redis, the emulator as Twilio."""
    return {
        **os.environ,
        "DATABASE_URL": test_database_url(),
        # redis-py 8 reads with a 5 s socket timeout, as long as channels-redis's blocking
        # pop: an idle group member then dies with TimeoutError. Give reads some slack.
        "REDIS_URL": redis_url_with_slack(),
        "PUBLIC_BASE_URL": base_url,
        "TWILIO_ACCOUNT_SID": account_sid,
        "TWILIO_AUTH_TOKEN": auth_token,
        "TWILIO_API_BASE_URL": twilio_base_url,
        "MEDIA_ROOT": media_root,
    }


@pytest.fixture(scope="session")
def emulator():
    with EmulatorThread(ACCOUNT_SID, AUTH_TOKEN, scenario=Scenario.load(SCENARIO),
                        cps=50, timing=Timing(hangup_wait_seconds=1.0)) as twilio:
        yield twilio


@pytest.fixture(scope="session")
def voices():
    """Deepgram, OpenAI and Cartesia for the cloud stack's calls, all requiring VOICE_KEY."""
    with VoiceEmulatorsThread(api_key=VOICE_KEY) as emulators:
        yield emulators


@pytest.fixture(autouse=True)
def _no_voice_faults_left(request):
    """A fault a test injected and its call did not use up must not reach the next test."""
    yield
    if "voices" in request.fixturenames:
        request.getfixturevalue("voices").clear_faults()


@pytest.fixture(scope="session")
def daphne(django_db_setup, django_db_blocker, emulator, voices, tmp_path_factory):
    """One daphne for the session: the test database is the same across tests."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    emulator.emulator.app_url = base_url
    log = tmp_path_factory.mktemp("daphne") / "daphne.log"
    env = {
        **web_env(base_url, emulator.base_url, str(tmp_path_factory.mktemp("media"))),
        "DEEPGRAM_API_KEY": VOICE_KEY, "OPENAI_API_KEY": VOICE_KEY, "CARTESIA_API_KEY": VOICE_KEY,
        "DEEPGRAM_BASE_URL": voices.base_url, "CARTESIA_BASE_URL": voices.base_url,
        "OPENAI_BASE_URL": f"{voices.base_url}/v1",
        "BOT_ASR_WORKERS": "2",
        "RECONCILE_MARGIN_SECONDS": "3",  # the stream's heartbeat every second
        "LOG_LEVEL": "INFO",
    }
    with open(log, "w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
             "dialer_site.asgi:application"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )
    try:
        wait_for_port(port, process)
        process.base_url = base_url
        process.log_path = log
        process.media_root = env["MEDIA_ROOT"]
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        if os.environ.get("BOT_TESTS_SHOW_LOG"):
            print(log.read_text()[-20000:])
