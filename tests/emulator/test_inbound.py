"""Inbound calls: the signed voice webhook, its TwiML, status callbacks, the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from .conftest import ACCOUNT_SID, APP_NUMBER, AUTH_TOKEN

REPO = Path(__file__).resolve().parents[2]


def test_a_call_in_reaches_the_voice_webhook_and_follows_its_twiml(emulator, product):
    product.twiml["/twilio/voice/"] = "<Response><Say>Thanks for calling</Say><Hangup/></Response>"

    sid = emulator.call_in("+15005550177", APP_NUMBER, script="Hi, I am calling back.")

    done = emulator.wait_for_status(sid, "completed", timeout=10)
    (webhook,) = product.callbacks("/twilio/voice/", sid)
    assert webhook.signature_valid
    assert webhook.params["CallStatus"] == "ringing"
    assert webhook.params["Direction"] == "inbound"
    assert webhook.params["From"] == webhook.params["Caller"] == "+15005550177"
    assert webhook.params["To"] == webhook.params["Called"] == APP_NUMBER
    assert done["direction"] == "inbound" and done["end_reason"] == "<Hangup>"
    callbacks = product.wait_for(lambda: len(product.callbacks("/twilio/status/", sid)) == 4
                                 and product.callbacks("/twilio/status/", sid))
    ordered = sorted(callbacks, key=lambda r: int(r.params["SequenceNumber"]))
    assert [r.params["CallStatus"] for r in ordered] == [
        "initiated", "ringing", "in-progress", "completed"]
    assert all(r.signature_valid for r in ordered)


def test_a_rejected_call_in_ends_busy_without_answering(emulator, product):
    product.twiml["/twilio/voice/"] = "<Response><Reject/></Response>"

    sid = emulator.call_in("+15005550177", APP_NUMBER)

    done = emulator.wait_for_status(sid, "busy", timeout=10)
    assert done["duration"] == "0"


def test_the_cli_places_a_call_in_and_prints_its_outcome(emulator, product):
    product.twiml["/twilio/voice/"] = "<Response><Pause length='1'/></Response>"
    env = {**os.environ, "TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN}

    finished = subprocess.run(
        [sys.executable, "-m", "twilio_emulator", "call-in", "--from", "+15005550177",
         "--to", APP_NUMBER, "--emulator", emulator.base_url, "--say", "Hello"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=30, check=False)

    assert finished.returncode == 0, finished.stderr
    sid, _, outcome = finished.stdout.partition("\n")
    assert sid.startswith("CA")
    assert json.loads(outcome)["status"] == "completed"
    assert emulator.get_call(sid)["timeline"]["entries"][0]["kind"] == "call_in"


def test_the_server_refuses_to_start_without_an_auth_token():
    env = {k: v for k, v in os.environ.items() if k != "TWILIO_AUTH_TOKEN"}

    finished = subprocess.run([sys.executable, "-m", "twilio_emulator", "--port", "0"],
                              cwd=REPO, env=env, capture_output=True, text=True, timeout=30,
                              check=False)

    assert finished.returncode == 2
    assert "auth token is required" in finished.stderr
