"""Command line: `python -m twilio_emulator [serve] …` and `python -m twilio_emulator call-in …`."""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import logging
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from .calls import FINAL_STATUSES
from .emulator import DEFAULT_DATA_DIR, Emulator, settle_garbage_collector
from .speech import SpeechUnavailable

DEFAULT_ACCOUNT_SID = "AC" + "0" * 32


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m twilio_emulator",
                                     description="An offline Twilio for the dialer.")
    commands = parser.add_subparsers(dest="command")

    serve = commands.add_parser("serve", help="run the emulator (the default command)")
    _credential_options(serve)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080, help="0 picks a free port")
    serve.add_argument("--scenario", type=Path, help="callee scenario (YAML or JSON); "
                                                      "default: the shipped demo scenario")
    serve.add_argument("--app-url", default="http://127.0.0.1:8000",
                       help="the app, for inbound calls' webhooks")
    serve.add_argument("--cps", type=float, default=1.0,
                       help="outbound calls per second (0: unlimited)")
    serve.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR,
                       help="recordings, received audio, speech cache")
    serve.add_argument("--verbose", "-v", action="store_true")

    call_in = commands.add_parser("call-in", help="place an inbound call to the app")
    _credential_options(call_in)
    call_in.add_argument("--from", dest="from_", required=True, help="caller, E.164")
    call_in.add_argument("--to", required=True, help="the app's number, E.164")
    call_in.add_argument("--emulator", default="http://127.0.0.1:8080")
    script = call_in.add_mutually_exclusive_group()
    script.add_argument("--script-file", type=Path, help="YAML/JSON list of script steps")
    script.add_argument("--say", action="append", help="a line to say (repeatable)")
    call_in.add_argument("--timeout", type=float, default=600, help="give up waiting after")
    return parser


def _credential_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--account-sid",
                        default=os.environ.get("TWILIO_ACCOUNT_SID", DEFAULT_ACCOUNT_SID))
    parser.add_argument("--auth-token", default=os.environ.get("TWILIO_AUTH_TOKEN", ""),
                        help="default: $TWILIO_AUTH_TOKEN (required)")


async def _serve(options: argparse.Namespace) -> None:
    emulator = Emulator(options.account_sid, options.auth_token, app_url=options.app_url,
                        scenario=options.scenario, cps=options.cps, data_dir=options.data_dir)
    base_url = await emulator.start(options.host, options.port)
    settle_garbage_collector()
    print(f"Twilio emulator listening on {base_url} (account {options.account_sid})\n"
          f"  set TWILIO_API_BASE_URL={base_url}\n"
          f"  timelines: {base_url}/_emulator/", flush=True)
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopped.set)
    await stopped.wait()
    await emulator.stop()


async def _call_in(options: argparse.Namespace) -> int:
    script: Any = None
    if options.script_file:
        script = yaml.safe_load(options.script_file.read_text())
    elif options.say:
        script = [{"say": line} for line in options.say]
    credentials = base64.b64encode(f"{options.account_sid}:{options.auth_token}".encode())
    headers = {"Authorization": f"Basic {credentials.decode()}"}
    base = options.emulator.rstrip("/")
    async with aiohttp.ClientSession(headers=headers) as session:
        body = {"from": options.from_, "to": options.to, "script": script}
        async with session.post(f"{base}/_emulator/calls/inbound.json", json=body) as response:
            answer = await response.json()
            if response.status != 201:
                print(f"refused ({response.status}): {answer}", file=sys.stderr)
                return 1
        sid = answer["sid"]
        print(sid, flush=True)
        deadline = time.monotonic() + options.timeout
        while time.monotonic() < deadline:
            async with session.get(f"{base}/_emulator/calls/{sid}.json") as response:
                call = await response.json()
            if call["status"] in FINAL_STATUSES:
                timeline = call["timeline"]
                print(json.dumps({
                    "status": call["status"], "duration": call["duration"],
                    "ended_because": call["end_reason"],
                    "ws_messages_received": timeline["ws_messages_received"],
                    "errors": [e for e in timeline["entries"] if e["kind"] == "error"],
                }, indent=2))
                return 0 if call["status"] == "completed" else 2
            await asyncio.sleep(0.5)
    print(f"{sid} still not finished after {options.timeout:g} s", file=sys.stderr)
    return 3


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    arguments = list(sys.argv[1:] if argv is None else argv)
    if not arguments or (arguments[0].startswith("-") and arguments[0] not in ("-h", "--help")):
        arguments.insert(0, "serve")
    options = parser.parse_args(arguments)
    if not options.auth_token:
        parser.error("an auth token is required: --auth-token or $TWILIO_AUTH_TOKEN")
    if options.command == "call-in":
        return asyncio.run(_call_in(options))
    logging.basicConfig(level=logging.INFO if options.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(message)s")
    try:
        asyncio.run(_serve(options))
    except SpeechUnavailable as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
