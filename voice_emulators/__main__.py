"""Command line: `python -m voice_emulators --port P [--host H] [--api-key K] [--rules F] [-v]`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from pathlib import Path

from twilio_emulator.speech import SpeechUnavailable

from .server import VoiceEmulators


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m voice_emulators",
        description="Offline Deepgram (live STT), OpenAI (chat completions) and Cartesia "
                    "(TTS WebSocket) on one server.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090, help="0 picks a free port")
    parser.add_argument("--api-key", default=os.environ.get("VOICE_EMULATORS_API_KEY", ""),
                        help="the key every service requires (default: any non-empty key)")
    parser.add_argument("--rules", type=Path, help="the emulated LLM's rules (YAML); "
                                                   "default: the shipped default_rules.yaml")
    parser.add_argument("--verbose", "-v", action="store_true")
    return parser


async def _serve(options: argparse.Namespace) -> None:
    emulators = VoiceEmulators(options.api_key, options.rules)
    base_url = await emulators.start(options.host, options.port)
    print(f"Voice emulators listening on {base_url}\n"
          f"  set DEEPGRAM_BASE_URL={base_url} OPENAI_BASE_URL={base_url}/v1 "
          f"CARTESIA_BASE_URL={base_url}", flush=True)
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopped.set)
    await stopped.wait()
    await emulators.stop()


def main(argv: list[str] | None = None) -> int:
    options = _parser().parse_args(argv)
    if options.rules and not options.rules.is_file():
        print(f"--rules: {options.rules} is not a file", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO if options.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        asyncio.run(_serve(options))
    except SpeechUnavailable as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
