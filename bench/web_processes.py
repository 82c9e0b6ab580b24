"""Do two web processes on this machine hold twice the calls of one? The same stand-in call
load as bench/concurrent_calls.py (its Twilio-like client, signed handshake, 20 ms μ-law both
ways, marks echoed), offered to one web process and to two behind the real nginx, configured
as `WEB_PROCESSES=2 make run` configures it (dialer_site.local_proxy, which includes
deploy/nginx-proxy.conf as production does).

    .venv/bin/python bench/web_processes.py --calls 8 16 24 32 40

Setups: `one` (one `manage.py serve_web`, the client connects to it directly, as
concurrent_calls does), `two` (two behind nginx), and `one-nginx` (one behind nginx: what
the proxy alone costs). Each size runs on each setup, smallest first; a setup that fails to
hold a size is not offered the larger ones. A setup holds a size when every call is answered
and every call's p99 outbound frame gap is under 40 ms.

Printed per run: calls held, worst p99 gap, median caller-stops → bot audio, and the CPU of
each part in cores (the web processes, nginx, this client, the whole machine from
/proc/stat) and the web processes' CPU seconds per call-second — the fair per-core figure:
if two processes hold less than twice one while their CPU per call-second is the same, the
processes scale and what they lack is cores (the client and nginx share these two). Then the
most calls each setup held and the ratio two : one.
"""

import argparse
import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import _support  # noqa: E402 (importable once ROOT is on the path)
from bench import concurrent_calls as calls  # noqa: E402
from dialer_site import local_proxy  # noqa: E402

SETUPS = {"one": (1, False), "one-nginx": (1, True), "two": (2, True)}  # processes, behind nginx


class Setup:
    """Web processes (and nginx in front of them, if asked) for one run."""

    def __init__(self, name: str, env: dict):
        self.name = name
        count, proxied = SETUPS[name]
        self.nginx: subprocess.Popen | None = None
        self.web: list[subprocess.Popen] = []
        self.port = calls.free_port()
        web_ports = [calls.free_port() for _ in range(count)] if proxied else [self.port]
        public = f"http://127.0.0.1:{self.port}"
        # The processes share the cores as under `make run` (WEB_PROCESSES sizes speech pools).
        env = {**env, "WEB_PROCESSES": str(count)}
        try:
            for web_port in web_ports:
                self.web.append(calls.start_server("serve_web", "standin", web_port, env, public_url=public))
            if proxied:
                run_dir = Path(tempfile.mkdtemp(prefix="bench-nginx-"))
                config = local_proxy.write_config(run_dir, "127.0.0.1", self.port,
                                                  [f"127.0.0.1:{web_port}" for web_port in web_ports])
                self.nginx = subprocess.Popen(local_proxy.command(config), stdout=subprocess.DEVNULL,
                                              stderr=open(run_dir / "nginx.err", "w"),  # noqa: SIM115
                                              start_new_session=True)
                calls.wait_for_port(self.port, self.nginx, f"nginx; see {run_dir}/nginx.err")
            for process in self.web:
                calls.settle(process.pid)
        except BaseException:
            self.stop()
            raise

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/twilio/stream/"

    def cpu(self) -> dict[str, float]:
        web = sum(_support.process_tree_cpu(process.pid) for process in self.web)
        return {"web": web, "nginx": _support.process_tree_cpu(self.nginx.pid) if self.nginx else 0.0}

    def stop(self) -> None:
        if self.nginx is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.nginx.pid, signal.SIGQUIT)  # nginx's graceful stop
            try:
                self.nginx.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.nginx.pid, signal.SIGKILL)
        for process in self.web:
            calls.stop_server(process)


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of every core so far, from /proc/stat."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return sum(fields) - idle, sum(fields)


def measure(name: str, n: int, env: dict, speech: bytes, seconds: float) -> dict:
    setup = Setup(name, env)
    try:
        cpu_before, busy_before, wall_before = setup.cpu(), machine_busy(), time.monotonic()
        client_before = time.process_time()
        results = asyncio.run(calls.run_calls(setup.url, n, speech, seconds))
        cpu_after, busy_after, wall = setup.cpu(), machine_busy(), time.monotonic() - wall_before
        client = time.process_time() - client_before
        load = os.getloadavg()[0]
    finally:
        setup.stop()
    call_seconds = sum(r["seconds"] for r in results)
    web, nginx = (cpu_after[part] - cpu_before[part] for part in ("web", "nginx"))
    busy = busy_after[0] - busy_before[0]
    total = busy_after[1] - busy_before[1]
    return {
        "setup": name, "calls": n, **calls.call_figures(results),
        "web_cores": round(web / wall, 2), "nginx_cores": round(nginx / wall, 2),
        "client_cores": round(client / wall, 2),
        "machine_busy_cores": round(busy / total * (os.cpu_count() or 1), 2) if total else None,
        "web_cpu_per_call_sec": round(web / call_seconds, 4),
        "nginx_cpu_per_call_sec": round(nginx / call_seconds, 4),
        "load1": round(load, 1),
    }


def held_all(row: dict) -> bool:
    return row["held"] == row["answered"] == row["calls"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, nargs="+", default=[8, 16, 24, 32, 40])
    parser.add_argument("--setups", nargs="+", default=["one", "two"], choices=list(SETUPS))
    parser.add_argument("--seconds", type=float, default=30.0, help="longest a call may last")
    parser.add_argument("--keep-going", action="store_true",
                        help="offer every size to every setup, even after it failed a smaller one")
    args = parser.parse_args()

    env, stub_port = calls.server_environment()
    speech = calls.phrase_ulaw()
    stub, loop = calls.start_hangup_stub(stub_port)
    rows, failed = [], set()
    try:
        for n in sorted(args.calls):
            for name in args.setups:
                if name in failed and not args.keep_going:
                    continue
                row = measure(name, n, env, speech, args.seconds)
                rows.append(row)
                print(json.dumps(row), flush=True)
                if not held_all(row):
                    failed.add(name)
    finally:
        calls.stop_hangup_stub(stub, loop)
    print(report(rows))


def report(rows: list[dict]) -> str:
    lines = [f"\n{'setup':9} {'calls':>5} {'held':>4} {'answered':>8} {'worst p99':>9} {'stop->audio':>11} "
             f"{'web cores':>9} {'nginx':>5} {'client':>6} {'machine':>7} {'web s/call-s':>12} "
             f"{'nginx s/call-s':>14} {'load':>4}"]
    for r in rows:
        lines.append(f"{r['setup']:9} {r['calls']:>5} {r['held']:>4} {r['answered']:>8} "
                     f"{r['worst_p99_gap_ms']!s:>9} {r['median_latency_ms']!s:>11} {r['web_cores']:>9} "
                     f"{r['nginx_cores']:>5} {r['client_cores']:>6} {r['machine_busy_cores']!s:>7} "
                     f"{r['web_cpu_per_call_sec']:>12} {r['nginx_cpu_per_call_sec']:>14} {r['load1']:>4}")
    best = {}
    for r in rows:
        if held_all(r) and r["calls"] > best.get(r["setup"], {}).get("calls", 0):
            best[r["setup"]] = r
    lines.append("")
    for name in dict.fromkeys(r["setup"] for r in rows):
        r = best.get(name)
        lines.append(f"{name}: held {r['calls'] if r else 'none'} calls" +
                     (f" (web CPU {r['web_cpu_per_call_sec']} s per call-second)" if r else ""))
    if "one" in best and "two" in best:
        lines.append(f"two : one = {best['two']['calls'] / best['one']['calls']:.2f}x "
                     f"(goal 1.8x; sizes offered: {sorted({r['calls'] for r in rows})})")
    lines.append(f"{os.cpu_count()} cores; load average {min(r['load1'] for r in rows)}–"
                 f"{max(r['load1'] for r in rows)} during the runs.")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
