"""Two hosts sharing one PostgreSQL and one Redis: is the account's CPS held globally, are the
calls spread over both, and does a dashboard on either host see every call live?

Each "host" is a network namespace this bench makes (`ip netns`, a veth pair; run as root)
running the Procfile's web (`manage.py serve_web`), Celery worker and status-callback
applier; host a runs Celery beat too (one per deployment). A host reaches PostgreSQL,
Redis and the Twilio emulator only over its veth, through socat relays on the host side of
it (the services themselves listen on 127.0.0.1 alone). nginx (dialer_site.local_proxy,
production's proxy rules) is in front of both web processes, and the Twilio emulator (in
this process) reaches the product through it. A campaign of --leads stand-in calls runs to
the end.

    flock /tmp/dialer-bench.lock timeout 900 .venv/bin/python bench/two_hosts.py

Printed: the most REST requests the emulator received in any one second beside
TWILIO_CALLS_PER_SECOND; per host the media streams it accepted and refused (its /metrics),
the dials its worker placed and the callbacks nginx gave it, and the most calls it held at
once (its heartbeat); for a dashboard socket opened on each host directly, the calls it saw
move and the calls whose transcript lines it received, of all the campaign's calls.
Everything it starts is stopped, and the namespaces deleted, however it ends."""

import argparse
import asyncio
import atexit
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import _support  # noqa: E402 (importable once ROOT is on the path)
from bench import concurrent_calls as calls  # noqa: E402
from dialer_site import local_proxy  # noqa: E402

HOSTS = {"a": "10.211.1", "b": "10.211.2"}  # namespace name suffix -> its /24 (.1 here, .2 there)
WEB_PORT = 8000
NAMESPACE = "dialer-bench-{}"
METRICS_TOKEN = "two-hosts-bench-token"  # noqa: S105 (a throwaway local deployment)
# Every callee answers after a ring, asks to be left alone (what the stand-in STT hears
# anyway) and waits for the bot to hang up.
SCENARIO = {
    "defaults": {"ring": 1, "first_turn_timeout": 3, "turn_silence": 0.5},
    "fallback": {"behaviour": "answer", "script": [
        {"say": "Please do not call me again. Remove me from your list."}, {"hangup_after": 30}]},
}


class Deployment:
    """The namespaces, relays, processes and nginx; `stop` undoes all of it (idempotent)."""

    def __init__(self, logs: Path):
        self.logs = logs
        self.processes: list[tuple[str, subprocess.Popen]] = []
        self.namespaces: list[str] = []
        self.cleanups: list = []  # what else to undo, after the processes

    def run(self, *command: str) -> None:
        subprocess.run(command, check=True, capture_output=True)

    def make_host(self, name: str) -> None:
        net, namespace = HOSTS[name], NAMESPACE.format(name)
        with contextlib.suppress(subprocess.CalledProcessError):  # left by a run that was killed -9
            self.run("ip", "netns", "del", namespace)
        self.run("ip", "netns", "add", namespace)
        self.namespaces.append(namespace)
        outside, inside = f"bench2h-{name}", f"bench2h-{name}-ns"
        self.run("ip", "link", "add", outside, "type", "veth", "peer", "name", inside)
        self.run("ip", "link", "set", inside, "netns", namespace)
        self.run("ip", "addr", "add", f"{net}.1/24", "dev", outside)
        self.run("ip", "link", "set", outside, "up")
        for command in (["ip", "addr", "add", f"{net}.2/24", "dev", inside],
                        ["ip", "link", "set", inside, "up"], ["ip", "link", "set", "lo", "up"]):
            self.run("ip", "netns", "exec", namespace, *command)

    def relay(self, name: str, port: int) -> None:
        """The host's way to a service on 127.0.0.1:port: the same port on its veth's far end."""
        self.start(f"relay-{name}-{port}", ["socat", f"TCP-LISTEN:{port},bind={HOSTS[name]}.1,fork,reuseaddr",
                                            f"TCP:127.0.0.1:{port}"])
        deadline = time.monotonic() + 10
        while subprocess.run(["ss", "-ltnH", "src", f"{HOSTS[name]}.1:{port}"],
                             capture_output=True, text=True).stdout.strip() == "":
            if time.monotonic() > deadline:
                raise TimeoutError(f"socat did not listen on {HOSTS[name]}.1:{port}")
            time.sleep(0.1)

    def start(self, label: str, command: list[str], env: dict | None = None, host: str | None = None
              ) -> subprocess.Popen:
        if host is not None:
            command = ["ip", "netns", "exec", NAMESPACE.format(host), *command]
        with open(self.logs / f"{label}.log", "w") as log:
            process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                       start_new_session=True)
        self.processes.append((label, process))
        return process

    def stop(self) -> None:
        while self.processes:  # the last started first: nginx, the hosts' processes, the relays
            _, process = self.processes.pop()
            with contextlib.suppress(ProcessLookupError):
                calls.stop_server(process)
        while self.cleanups:
            self.cleanups.pop()()
        while self.namespaces:
            with contextlib.suppress(subprocess.CalledProcessError):
                self.run("ip", "netns", "del", self.namespaces.pop())  # its veth pair goes with it


def host_environment(name: str, database: str, redis_url: str, twilio_port: int, public_url: str,
                     args: argparse.Namespace, logs: Path) -> dict:
    """What one host's processes read: the shared services at its veth's far end."""
    gateway = f"{HOSTS[name]}.1"
    return {
        **os.environ,
        **_support.bench_environment(
            database.replace("127.0.0.1", gateway), REDIS_URL=redis_url.replace("127.0.0.1", gateway),
            TWILIO_ACCOUNT_SID=calls.ACCOUNT_SID, TWILIO_AUTH_TOKEN=calls.AUTH_TOKEN,
            TWILIO_API_BASE_URL=f"http://{gateway}:{twilio_port}", PUBLIC_BASE_URL=public_url,
            TWILIO_CALLS_PER_SECOND=str(args.cps), MEDIA_STREAMS_PER_PROCESS=str(args.capacity),
            ALLOWED_HOSTS=",".join(["127.0.0.1", "localhost", *(f"{net}.2" for net in HOSTS.values())]),
            STATUS_CALLBACK_STREAM=f"twilio:status-callbacks:bench-{os.getpid()}",
            BOT_SERVICES="standin", BOT_TURN_DETECTION="silence", METRICS_TOKEN=METRICS_TOKEN,
            MEDIA_ROOT=str(logs / "media"), LOG_LEVEL="INFO", DIALER_HOST="0.0.0.0",  # noqa: S104
            PORT=str(WEB_PORT), WEB_PROCESSES="1"),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }


def procfile_commands() -> dict[str, list[str]]:
    """The Procfile's web, worker and callbacks lines, run by a shell (they name variables)."""
    from honcho.environ import parse_procfile

    processes = parse_procfile((ROOT / "Procfile").read_text()).processes
    return {name: ["sh", "-c", f"exec {processes[name]}"] for name in ("web", "worker", "callbacks")}


def staff_cookie() -> str:
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.test import Client

    client = Client()
    client.force_login(User.objects.create_user("bench-staff", is_staff=True))
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


class Dashboard:
    """A staff dashboard socket on one host's web process, subscribed to the campaign: the
    calls whose updates and transcript lines it received."""

    def __init__(self, address: str, cookie: str, campaign_id: int):
        self.address, self.cookie, self.campaign_id = address, cookie, campaign_id
        self.moved: set[int] = set()
        self.transcribed: Counter[int] = Counter()
        self.error = ""
        self.subscribed = threading.Event()

    async def watch(self, stop: asyncio.Event) -> None:
        import websockets

        try:
            async with websockets.connect(
                    f"ws://{self.address}/ws/dashboard/", open_timeout=20,
                    additional_headers={"Cookie": self.cookie, "Origin": f"http://{self.address}"}) as ws:
                await ws.send(json.dumps({"action": "subscribe", "campaigns": [self.campaign_id]}))
                while not stop.is_set():
                    with contextlib.suppress(TimeoutError):
                        self.take(json.loads(await asyncio.wait_for(ws.recv(), 0.5)))
        except Exception as error:  # said in the figures; the bench goes on
            self.error = f"{type(error).__name__}: {error}"

    def take(self, message: dict) -> None:
        if message.get("type") == "subscribed":
            self.subscribed.set()
        for event in message.get("events", []):
            if event["type"] == "call.update":
                self.moved.add(event["call"]["id"])
            elif event["type"] == "transcript.line":
                self.transcribed[event["line"]["call_id"]] += 1


def watch_dashboards(dashboards: list[Dashboard]) -> tuple[threading.Thread, callable]:
    """The sockets on a loop of their own in a thread; returns it and a function that ends them."""
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()

    async def all_of_them():
        await asyncio.gather(*(dashboard.watch(stop) for dashboard in dashboards))

    thread = threading.Thread(target=loop.run_until_complete, args=(all_of_them(),), daemon=True)
    thread.start()
    return thread, lambda: loop.call_soon_threadsafe(stop.set)


def most_in_one_second(stamps: list[float]) -> int:
    stamps = sorted(stamps)
    return max((sum(1 for later in stamps[index:] if later < first + 1.0)
                for index, first in enumerate(stamps)), default=0)


def shortest_span(stamps: list[float], count: int) -> float | None:
    """The shortest time `count` consecutive requests took: under a second means more than
    count - 1 in one second, and by how much (a burst spans milliseconds)."""
    stamps = sorted(stamps)
    spans = [later - first for first, later in zip(stamps, stamps[count - 1:], strict=False)]
    return min(spans, default=None)


def scrape(address: str) -> dict[str, float]:
    """A web process's /metrics, as {"name{labels}": value}."""
    request = urllib.request.Request(f"http://{address}/metrics",
                                     headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (our own http URL)
        text = response.read().decode()
    return {name: float(value) for name, value in re.findall(r"^(\S+) (\S+)$", text, re.M)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leads", type=int, default=40)
    parser.add_argument("--cps", type=float, default=5, help="TWILIO_CALLS_PER_SECOND of both hosts")
    parser.add_argument("--capacity", type=int, default=8,
                        help="MEDIA_STREAMS_PER_PROCESS of each web process")
    parser.add_argument("--concurrency", type=int, default=20, help="the campaign's max_concurrent_calls")
    parser.add_argument("--database", default="dialer_two_hosts")
    parser.add_argument("--timeout", type=float, default=420, help="seconds the campaign may take")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("Run as root: the bench makes network namespaces.")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("stopped by SIGTERM"))  # so that finally runs
    logs = Path(tempfile.mkdtemp(prefix="bench-two-hosts-"))
    deployment = Deployment(logs)
    atexit.register(deployment.stop)
    try:
        run(args, deployment, logs)
    finally:
        deployment.stop()
    print(f"Logs: {logs}")


def run(args: argparse.Namespace, deployment: Deployment, logs: Path) -> None:
    from twilio_emulator import EmulatorThread, Scenario, Timing

    database = _support.create_database(args.database)
    redis_url = os.environ.get("REDIS_URL", _support.BENCH_REDIS_URL)
    _support.setup_django(database, REDIS_URL=redis_url)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, check=True,
                   env={**os.environ, "DATABASE_URL": database})
    import redis
    from django.db.models import Count

    from calls import capacity
    from calls.dialer import pacing
    from calls.models import Call
    from campaigns import lifecycle
    from campaigns.models import Campaign
    from tests.dialer.conftest import make_campaign

    shared = redis.Redis.from_url(redis_url)
    shared.delete(*pacing.KEYS, capacity.PROCESSES_KEY)
    proxy_port = calls.free_port()
    public_url = f"http://127.0.0.1:{proxy_port}"
    twilio = EmulatorThread(calls.ACCOUNT_SID, calls.AUTH_TOKEN, app_url=public_url, cps=0,
                            scenario=Scenario.load(SCENARIO), data_dir=logs / "emulator",
                            timing=Timing(hangup_wait_seconds=1))
    twilio.start()
    deployment.cleanups.append(twilio.stop)
    twilio_port = int(twilio.base_url.rsplit(":", 1)[1])

    commands = procfile_commands()
    for name in HOSTS:
        deployment.make_host(name)
        for port in (5432, 6379, twilio_port):
            deployment.relay(name, port)
    for name in HOSTS:
        env = host_environment(name, database, redis_url, twilio_port, public_url, args, logs)
        for kind, command in commands.items():
            deployment.start(f"{name}-{kind}", command, env, host=name)
        if name == "a":
            deployment.start("a-beat", ["celery", "--app", "dialer_site", "beat", "--loglevel", "INFO",
                                        "--schedule", str(logs / "celerybeat-schedule")], env, host=name)
    config = local_proxy.write_config(logs / "nginx", "127.0.0.1", proxy_port,
                                      [f"{net}.2:{WEB_PORT}" for net in HOSTS.values()])
    nginx = deployment.start("nginx", local_proxy.command(config))
    calls.wait_for_port(proxy_port, nginx, f"nginx; see {logs}/nginx.log")
    deadline = time.monotonic() + 90
    while len(capacity.live_processes(shared)) < len(HOSTS):  # both web processes beat
        if time.monotonic() > deadline:
            raise TimeoutError(f"the web processes did not start; see {logs}")
        time.sleep(0.5)

    # A web process loads its models once it listens (seconds of CPU, its loop late meanwhile):
    # calls offered then are refused as lagging (seen: 6 of 40), so the campaign starts after.
    for label, process in deployment.processes:
        if label.endswith("-web"):
            calls.settle(process.pid)

    numbers = [f"+1202555{index:04d}" for index in range(1000, 1000 + args.leads)]
    campaign = make_campaign(numbers, max_concurrent_calls=args.concurrency, max_attempts=1)
    cookie = staff_cookie()
    dashboards = [Dashboard(f"{net}.2:{WEB_PORT}", cookie, campaign.pk) for net in HOSTS.values()]
    watcher, stop_watching = watch_dashboards(dashboards)
    for dashboard in dashboards:
        if not dashboard.subscribed.wait(30):
            raise RuntimeError(f"the dashboard on {dashboard.address} did not subscribe: {dashboard.error}")
    load_before = Path("/proc/loadavg").read_text().split()[:3]
    started = time.monotonic()
    lifecycle.start(campaign)
    web_hosts = {process.pid: label[0] for label, process in deployment.processes if label.endswith("-web")}
    peak: Counter[str] = Counter()
    peak_total = 0
    while time.monotonic() - started < args.timeout:
        beats = capacity.live_processes(shared)
        for beat in beats:
            host = web_hosts.get(beat.pid, beat.id)
            peak[host] = max(peak[host], beat.live)
        peak_total = max(peak_total, sum(beat.live for beat in beats))
        campaign.refresh_from_db()
        if campaign.status == Campaign.Status.COMPLETED and not Call.objects.live().exists():
            break
        time.sleep(0.5)
    took = time.monotonic() - started
    time.sleep(3)  # the last transcript lines and updates reach the sockets
    stop_watching()
    watcher.join(10)
    report(args, logs, twilio, campaign, dashboards, peak, peak_total, took, load_before,
           Call.objects.filter(campaign=campaign).values("status").annotate(n=Count("id")))


def report(args, logs, twilio, campaign, dashboards, peak, peak_total, took, load_before,
           statuses) -> None:
    from calls.models import Call

    sent = [datetime.fromisoformat(entry["at"]).astimezone(UTC).timestamp()
            for call in twilio.calls() for entry in call["timeline"]["entries"]
            if entry["kind"] == "rest_create"]
    call_ids = set(Call.objects.filter(campaign=campaign).values_list("pk", flat=True))
    answered = set(Call.objects.filter(campaign=campaign, answered_at__isnull=False)
                   .values_list("pk", flat=True))
    by_status = ", ".join(f"{row['status']} {row['n']}" for row in statuses)
    print(f"\ncampaign of {args.leads} leads, max_concurrent_calls={args.concurrency}, "
          f"MEDIA_STREAMS_PER_PROCESS={args.capacity} on each of 2 web processes; "
          f"{'completed' if campaign.status == 'completed' else 'NOT completed: ' + campaign.status} "
          f"in {took:.0f} s; calls by status: {by_status}")
    span = shortest_span(sent, int(args.cps) + 1)
    print(f"account CPS: {len(sent)} REST call requests, at most {most_in_one_second(sent)} in any one "
          f"second (TWILIO_CALLS_PER_SECOND={args.cps:g}; the shortest span of {int(args.cps) + 1} "
          f"consecutive requests {span:.3f} s); peak {peak_total} calls live on both hosts")
    access = (logs / "nginx" / "access.log").read_text().splitlines()
    streams = [line for line in access if "/twilio/stream/" in line]
    unplaced = [line for line in streams if " 101 " not in line]
    print(f"media streams through nginx: {len(streams)}, of them {len(unplaced)} refused by both hosts "
          "(those calls were answered with no bot)")
    for name, net in HOSTS.items():
        address = f"{net}.2:{WEB_PORT}"
        metrics = scrape(address)
        refused = sum(v for k, v in metrics.items() if k.startswith("dialer_media_streams_refused_total"))
        worker_log = (logs / f"{name}-worker.log").read_text()
        dials = len(re.findall(r"calls\.tasks\.place_call\[[^\]]+\] succeeded", worker_log))
        webhooks = sum(1 for line in access if f"upstream={address}" in line and "/twilio/" in line
                       and "/twilio/stream/" not in line)
        print(f"host {name}: {metrics.get('dialer_media_streams_accepted_total', 0):.0f} media streams "
              f"accepted, {refused:.0f} refused; {dials} dials by its worker; {webhooks} Twilio webhooks "
              f"through nginx; at most {peak.get(name, 0)} calls at once")
    for name, dashboard in zip(HOSTS, dashboards, strict=True):
        print(f"dashboard socket on host {name}: updates of {len(dashboard.moved & call_ids)} of "
              f"{len(call_ids)} calls, transcript lines of {len(set(dashboard.transcribed) & answered)} of "
              f"{len(answered)} answered calls ({sum(dashboard.transcribed.values())} lines)"
              + (f"; socket error: {dashboard.error}" if dashboard.error else ""))
    load_after = Path("/proc/loadavg").read_text().split()[:3]
    print(f"load average before {' '.join(load_before)}, after {' '.join(load_after)} "
          f"({os.cpu_count()} cores, both hosts and the emulator on them; the machine is shared)")


if __name__ == "__main__":
    main()
