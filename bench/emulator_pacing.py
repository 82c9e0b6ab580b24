"""Media pacing of the Twilio emulator under load.

Places N concurrent calls (default 100) in one emulator process, each streaming to a
WebSocket echo server running in a separate process, and reports the gaps between
consecutive `media` frames as the server received them. Twilio sends one every 20 ms;
the goal is p99 < 30 ms.

    .venv/bin/python bench/emulator_pacing.py [--calls 100] [--seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import multiprocessing
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from twilio_emulator.emulator import Emulator, settle_garbage_collector

ACCOUNT_SID = "AC" + "b" * 32
AUTH_TOKEN = "bench-token"  # noqa: S105 - a throwaway local emulator
TARGET_P99_MS = 30.0


# -- the app side: a WebSocket server in its own process ----------------------------------

def run_sink(port_queue: multiprocessing.Queue, results_path: str, calls: int, echo: bool) -> None:
    asyncio.run(_sink(port_queue, results_path, calls, echo))


async def _sink(port_queue: multiprocessing.Queue, results_path: str, calls: int,
                echo: bool) -> None:
    from websockets.asyncio.server import serve
    from websockets.exceptions import ConnectionClosed

    gaps: list[float] = []
    finished = asyncio.Event()
    closed = 0

    async def handler(websocket) -> None:
        nonlocal closed
        last: float | None = None
        stream_sid = ""
        try:
            async for raw in websocket:
                now = time.monotonic()
                message = json.loads(raw)
                if message["event"] == "start":
                    stream_sid = message["streamSid"]
                elif message["event"] == "media":
                    if last is not None:
                        gaps.append(now - last)
                    last = now
                    if echo:  # the bot "talks back", exercising the emulator's playout
                        await websocket.send(json.dumps({
                            "event": "media", "streamSid": stream_sid,
                            "media": {"payload": message["media"]["payload"]}}))
        except ConnectionClosed:
            pass  # an echo raced the emulator's close at hang-up
        finally:
            closed += 1
            if closed >= calls:
                finished.set()

    async with serve(handler, "127.0.0.1", 0, compression=None) as server:
        port_queue.put(server.sockets[0].getsockname()[1])
        started, cpu_before = time.monotonic(), _cpu_seconds()
        await finished.wait()
    cpu_share = (_cpu_seconds() - cpu_before) / (time.monotonic() - started)
    Path(results_path).write_text(json.dumps({"gaps": gaps, "cpu_share": cpu_share}))


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# -- the emulator side ------------------------------------------------------------------------

async def place_calls(base_url: str, ws_port: int, calls: int) -> list[str]:
    twiml = (f"<Response><Connect><Stream url='ws://127.0.0.1:{ws_port}/stream'>"
             "<Parameter name='bench' value='1'/></Stream></Connect></Response>")
    url = f"{base_url}/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json"
    auth = {"Authorization": "Basic " + base64.b64encode(
        f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()}
    async with aiohttp.ClientSession(headers=auth) as session:
        async def one(index: int) -> str:
            form = {"To": f"+1202555{index:04d}", "From": "+12025550000", "Twiml": twiml}
            async with session.post(url, data=form) as response:
                assert response.status == 201, await response.text()
                return (await response.json())["sid"]
        return await asyncio.gather(*(one(i) for i in range(calls)))


async def hang_up(base_url: str, sids: list[str]) -> None:
    auth = {"Authorization": "Basic " + base64.b64encode(
        f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()}
    async with aiohttp.ClientSession(headers=auth) as session:
        async def one(sid: str) -> None:
            url = f"{base_url}/2010-04-01/Accounts/{ACCOUNT_SID}/Calls/{sid}.json"
            async with session.post(url, data={"Status": "completed"}) as response:
                await response.read()
        await asyncio.gather(*(one(sid) for sid in sids))


async def run_emulator(ws_port: int, calls: int, seconds: float, data_dir: str) -> dict:
    # Every number reaches a silent callee that answers at once; no CPS limit.
    scenario = {"fallback": {"behaviour": "answer", "ring": 0}}
    emulator = Emulator(ACCOUNT_SID, AUTH_TOKEN, scenario=scenario, cps=0, data_dir=data_dir)
    base_url = await emulator.start("127.0.0.1", 0)
    settle_garbage_collector()  # as `python -m twilio_emulator` does
    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.monotonic()
    sids = await place_calls(base_url, ws_port, calls)
    await asyncio.sleep(seconds)
    await hang_up(base_url, sids)
    elapsed = time.monotonic() - started
    cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    statuses = {}
    for call in emulator.calls.values():
        statuses[str(call.status)] = statuses.get(str(call.status), 0) + 1
    await emulator.stop()
    clocks = [entry for call in emulator.calls.values()
              for entry in call.timeline.of_kind("media_clock")]
    stalls = sum(len(call.timeline.of_kind("clock_stall")) for call in emulator.calls.values())
    cpu = (cpu_after.ru_utime + cpu_after.ru_stime) - (cpu_before.ru_utime + cpu_before.ru_stime)
    return {"statuses": statuses, "cpu_share": cpu / elapsed, "clock_stalls": stalls,
            "ticks": sum(c["ticks"] for c in clocks),
            "late_ticks": sum(c["late_over_10ms"] for c in clocks),
            "worst_late_ms": max((c["worst_late_ms"] for c in clocks), default=0.0)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--no-echo", dest="echo", action="store_false",
                        help="the server only listens (no audio back to the emulator)")
    options = parser.parse_args()

    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="emulator-bench-") as scratch:
        results_path = str(Path(scratch) / "gaps.json")
        ports: multiprocessing.Queue = multiprocessing.Queue()
        sink = multiprocessing.Process(target=run_sink, daemon=True,
                                       args=(ports, results_path, options.calls, options.echo))
        sink.start()
        ws_port = ports.get(timeout=30)
        emulator = asyncio.run(run_emulator(ws_port, options.calls, options.seconds,
                                            str(Path(scratch) / "data")))
        sink.join(timeout=30)
        sink_results = json.loads(Path(results_path).read_text())
    gaps_ms = np.array(sink_results["gaps"]) * 1000
    sink_cpu = sink_results["cpu_share"]

    p50, p99 = np.percentile(gaps_ms, [50, 99])
    print(f"{options.calls} concurrent calls for {options.seconds:g} s, "
          f"echo {'on' if options.echo else 'off'}: {gaps_ms.size} media gaps measured")
    print(f"  gap between consecutive media frames: p50 {p50:.1f} ms, p99 {p99:.1f} ms, "
          f"max {gaps_ms.max():.1f} ms")
    print(f"  emulator clock: {emulator['late_ticks']} of {emulator['ticks']} ticks "
          f"over 10 ms late, worst {emulator['worst_late_ms']:.1f} ms; "
          f"stalls over 1 s: {emulator['clock_stalls']}")
    print(f"  emulator CPU: {emulator['cpu_share']:.0%} of one core; "
          f"sink CPU: {sink_cpu:.0%} of one core; calls: {emulator['statuses']}")
    print(f"  machine load average (1 min): {load_before:.2f} before, "
          f"{os.getloadavg()[0]:.2f} after, on {os.cpu_count()} CPUs")
    verdict = p99 < TARGET_P99_MS
    print(f"  p99 < {TARGET_P99_MS:g} ms: {'yes' if verdict else 'NO'}")
    return 0 if verdict else 1


if __name__ == "__main__":
    sys.exit(main())
