"""`python -m voice_emulators`: a process of its own, no Django, all three services."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import httpx

from tests.voice_emulators.conftest import speech
from tests.voice_emulators.test_deepgram import converse

ROOT = Path(__file__).resolve().parents[2]


def test_the_command_serves_all_three_services_with_the_key_it_was_given():
    env = {"PATH": "/usr/bin:/bin"}  # no Django settings, no project environment
    process = subprocess.Popen([sys.executable, "-m", "voice_emulators", "--port", "0",
                                "--api-key", "cli-key"], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, text=True)
    try:
        first = process.stdout.readline()
        assert first.startswith("Voice emulators listening on http://127.0.0.1:"), first
        base = first.split()[-1]
        assert f"DEEPGRAM_BASE_URL={base}" in process.stdout.readline()

        chat = httpx.post(f"{base}/v1/chat/completions", headers={"Authorization": "Bearer cli-key"},
                          json={"model": "m", "messages": [{"role": "user", "content": "yes"}]})
        assert chat.status_code == 200
        assert httpx.post(f"{base}/v1/chat/completions", headers={"Authorization": "Bearer other"},
                          json={"model": "m", "messages": []}).status_code == 401
        url = base.replace("http", "ws") + "/v1/listen?encoding=linear16&sample_rate=8000"
        messages, _socket = asyncio.run(converse(url, speech("Hello."), key="cli-key"))
        assert messages[-1]["type"] == "Metadata"
        assert any(m["type"] == "Results" and m["is_final"] for m in messages)
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0
