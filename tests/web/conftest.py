"""Web processes as deployed (`manage.py serve_web`, what the Procfile and the systemd unit
run) on the test database and Redis, and the Twilio emulator calling them.

Calls run on the fixed-latency stand-in services (BOT_SERVICES=standin: whatever the callee
says is heard as a do-not-call request, and the bot says goodbye and hangs up), the lightest
whole call there is: these tests are about the process around the calls."""

from __future__ import annotations

import base64
import json
import signal
import subprocess
import sys
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest
from twilio.request_validator import RequestValidator

from tests.botruntime.conftest import free_port, wait_for_port, web_env
from tests.botruntime.helpers import stream_twiml
from tests.web_processes import forget_all
from twilio_emulator import EmulatorThread, Scenario, Timing

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT_SID = "AC" + "c1" * 16
AUTH_TOKEN = "web-tests-auth-token-0123456789"

SCENARIO = {
    "defaults": {"ring": 0.1, "turn_silence": 0.6, "first_turn_timeout": 8},
    # Waits for the greeting, speaks (heard as "do not call"), then waits for the bot to hang
    # up; hangs up itself 40 s in, should the bot never do so.
    "fallback": {"name": "talker", "script": [{"say": "Hello? Who is this?"}, {"hangup_after": 40}]},
}


@dataclass
class WebProcess:
    process: subprocess.Popen
    base_url: str
    log_path: Path

    @property
    def stream_url(self) -> str:
        return self.base_url.replace("http://", "ws://") + "/twilio/stream/"

    def signed_headers(self) -> dict[str, str]:
        return {"X-Twilio-Signature": RequestValidator(AUTH_TOKEN).compute_signature(self.stream_url, {})}

    def get(self, path: str, headers: dict | None = None) -> tuple[int, bytes]:
        request = urllib.request.Request(self.base_url + path, headers=headers or {})  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def log(self) -> str:
        return self.log_path.read_text()


@pytest.fixture(scope="module")
def emulator():
    with EmulatorThread(ACCOUNT_SID, AUTH_TOKEN, scenario=Scenario.load(SCENARIO), cps=50,
                        timing=Timing(hangup_wait_seconds=1.0)) as twilio:
        yield twilio


@pytest.fixture(autouse=True)
def no_web_processes_from_earlier_tests():
    forget_all()


@pytest.fixture
def web_process(emulator, tmp_path):
    """Starts web processes with extra settings; each is stopped at the end (SIGINT: at once)."""
    started: list[subprocess.Popen] = []

    def start(port: int | None = None, **extra_env: str) -> WebProcess:
        port = port or free_port()
        base_url = f"http://127.0.0.1:{port}"
        log_path = tmp_path / f"web-{port}.log"
        env = {
            **web_env(base_url, emulator.base_url, str(tmp_path / "media"), ACCOUNT_SID, AUTH_TOKEN),
            "BOT_SERVICES": "standin",
            "BOT_TURN_DETECTION": "silence",
            "BOT_WARM_UP": "false",
            "WEB_HEARTBEAT_SECONDS": "0.5",
            "LOG_LEVEL": "INFO",
            **extra_env,
        }
        with open(log_path, "w") as out:
            process = subprocess.Popen(
                [sys.executable, "manage.py", "serve_web", "--port", str(port), "--no-access-log"],
                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        started.append(process)
        wait_for_port(port, process, timeout=60)
        return WebProcess(process, base_url, log_path)

    yield start
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
    for process in started:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def dial(emulator, stream_url: str, call) -> str:
    """Create the call like the dialer does (inline TwiML to our stream) and return its CallSid."""
    parameters = {"call_id": call.pk, "customer_id": call.customer_id, "campaign_id": call.campaign.slug,
                  "call_type": "outbound", "customer_name": call.customer.full_name}
    body = urllib.parse.urlencode({"To": call.to_number, "From": call.from_number,
                                   "Twiml": stream_twiml(stream_url, parameters)}).encode()
    basic = base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
    request = urllib.request.Request(  # noqa: S310 (the local emulator)
        f"{emulator.base_url}/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json", data=body,
        headers={"Authorization": f"Basic {basic}"})
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        sid = json.loads(response.read())["sid"]
    call.call_sid = sid
    call.save(update_fields=["call_sid"])
    return sid
