#!/usr/bin/env python
"""Status-callback throughput with the Twilio signature check on, against a bare Django view.

Starts a real server — `.venv/bin/daphne dialer_site.asgi:application`, one process, with
this module as its settings and URLconf: the product's settings and URLs plus two bench views,
`/bench/bare/` (returns 204, nothing else) and `/bench/signed/` (the same behind the product's
`calls.twilio_auth.twilio_webhook`, so the signature check's own cost shows) — over a dedicated
PostgreSQL database (`bench_webhooks`, created and dropped) holding 2,000 dialling calls with
their campaign, leads and customers; Redis DB 14 for the stream, the Channels layer and Celery.
Beside daphne, on the same two cores, run what `make run` runs with it: the status-callback
applier (`manage.py apply_status_callbacks`, which stores what the webhook queued and settles
the leads of calls that became final) and a Celery worker (2 threads; idle here).

An aiohttp client (16 concurrent requests, fixed duration per endpoint) posts status callbacks
as Twilio sends them: form-encoded, to PUBLIC_BASE_URL/twilio/status/?call_id=…, signed with
`RequestValidator.compute_signature`, each call going initiated → ringing → in-progress →
completed with its SequenceNumber (so rows really move, CallEvents are stored and leads are
settled). The bare and signed-bare views get the same signed bodies. Endpoints alternate over
three rounds; printed: requests per second each, and status callbacks / bare as a ratio
(each round's, and of the medians).
Goal: ≥ 0.7×. The ratio counts only if the applier kept up: afterwards the bench waits for
the stream to drain and checks that every accepted callback became a CallEvent, printing how
long the applier trailed. A smaller in-process figure (Django test client, no server; the
applier's own rate) follows, and `--profile` prints where a status callback's time goes.

    .venv/bin/python bench/webhook_throughput.py               # about 1 minute
    .venv/bin/python bench/webhook_throughput.py --profile     # and a cProfile of the callback
"""

# In the daphne server this module is imported as bench.webhook_throughput, and is then the
# server's settings module and URLconf. The product's URLconf is referenced lazily (a
# URLResolver with a dotted name imports on first use), since apps are not loaded yet here.
if __name__ == "bench.webhook_throughput":
    from functools import cache

    from django.http import HttpResponse
    from django.urls import URLResolver, path
    from django.urls.resolvers import RoutePattern
    from django.views.decorators.csrf import csrf_exempt

    from dialer_site.settings import *  # noqa: F403

    ROOT_URLCONF = __name__

    @csrf_exempt
    def bare(request):
        return HttpResponse(status=204)

    @cache
    def _signed_view():
        from calls.twilio_auth import twilio_webhook

        return twilio_webhook(lambda request: HttpResponse(status=204))

    @csrf_exempt  # the middleware looks at the routed view, not the product's wrapper inside
    def signed(request):
        return _signed_view()(request)

    urlpatterns = [
        path("bench/bare/", bare),
        path("bench/signed/", signed),
        URLResolver(RoutePattern(""), "dialer_site.urls"),
    ]

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _support

GOAL_RATIO = 0.7
DATABASE = "bench_webhooks"
SETTINGS = "bench.webhook_throughput"
CALLS = 2_000
STAGES = [("initiated", {}), ("ringing", {}), ("in-progress", {}),
          ("completed", {"CallDuration": "47", "AnsweredBy": "human"})]


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="per endpoint per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--profile", action="store_true", help="cProfile status callbacks in-process")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    return parser.parse_args()


def build() -> list[str]:
    """A running campaign with CALLS dialled calls waiting for their callbacks; their CallSids."""
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    call_command("migrate", verbosity=0)
    from calls.models import Call
    from campaigns.models import Campaign, Customer, Lead

    # Through the ORM: every column a migration adds gets its default (raw INSERTs broke on each).
    campaign = Campaign.objects.create(name="Bench: webhooks", slug="bench", status="running",
                                       caller_id="+12025550100", greeting_template="Hello",
                                       max_concurrent_calls=5000, retry_delays_minutes=[30])
    customers = Customer.objects.bulk_create(
        Customer(phone=f"+1{2000000000 + g}", first_name=f"First{g}", last_name=f"Last{g}",
                 timezone="America/New_York") for g in range(1, CALLS + 1))
    # One more pending lead, so settling every bench call never completes the campaign.
    leads = Lead.objects.bulk_create(
        Lead(campaign=campaign, customer=customer, state="in_call" if g < CALLS else "pending",
             attempts=1 if g < CALLS else 0, claimed_at=timezone.now())
        for g, customer in enumerate(customers, start=1))
    Call.objects.bulk_create(
        Call(direction="outbound", campaign=campaign, customer=lead.customer, lead=lead,
             from_number="+12025550100", to_number=lead.customer.phone,
             call_sid=f"CA{g:032x}", dial_requested_at=timezone.now())
        for g, lead in enumerate(leads[:-1], start=1))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
        cursor.execute("SELECT id, call_sid FROM calls_call ORDER BY id")
        return cursor.fetchall()


def signed_requests(calls: list[tuple[int, str]], endpoint: str) -> list[tuple[str, bytes, str]]:
    """(path with query, form body, X-Twilio-Signature) for `endpoint`, in the order Twilio would
    send them: blocks of 64 calls, each block's calls through the four stages in turn."""
    from django.conf import settings
    from twilio.request_validator import RequestValidator

    validator = RequestValidator(settings.TWILIO_AUTH_TOKEN)
    stamp = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime())
    requests = []
    for start in range(0, len(calls), 64):
        block = calls[start:start + 64]
        for sequence, (status, extra) in enumerate(STAGES):
            for call_id, sid in block:
                path = f"{endpoint}?call_id={call_id}"
                callee = f"+1{2000000000 + call_id}"
                params = {
                    "AccountSid": settings.TWILIO_ACCOUNT_SID, "ApiVersion": "2010-04-01",
                    "CallSid": sid, "CallStatus": status, "SequenceNumber": str(sequence),
                    "CallbackSource": "call-progress-events", "Direction": "outbound-api",
                    "From": "+12025550100", "To": callee, "Called": callee, "Caller": "+12025550100",
                    "Timestamp": stamp, **extra,
                }
                signature = validator.compute_signature(settings.PUBLIC_BASE_URL + path, params)
                requests.append((path, urlencode(params).encode(), signature))
    return requests


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_environment(database: str) -> dict[str, str]:
    """For every process the bench starts: the product's defaults, its connection pool
    included (an exported DATABASE_POOL_SIZE is dropped so a shell setting cannot change the
    figures), and this module as the settings."""
    return {**{k: v for k, v in os.environ.items() if k != "DATABASE_POOL_SIZE"},
            **_support.bench_environment(database),
            "DJANGO_SETTINGS_MODULE": SETTINGS, "PYTHONPATH": str(_support.ROOT)}


def start_server(database: str, port: int, log) -> subprocess.Popen:
    env = server_environment(database)
    server = subprocess.Popen(
        [str(_support.ROOT / ".venv/bin/daphne"), "-v", "0", "-b", "127.0.0.1", "-p", str(port),
         "dialer_site.asgi:application"],
        cwd=_support.ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log,  # a file: a pipe could fill
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            log.seek(0)
            sys.exit(f"daphne exited: {log.read().decode()[-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return server
        except OSError:
            time.sleep(0.1)
    server.kill()
    sys.exit("daphne did not start listening within 30 s")


class Feed:
    """Hands out the pre-signed callbacks in order, round and round (a rerun is a duplicate,
    which Twilio also sends and the view must take)."""

    def __init__(self, requests):
        self.requests, self.next = requests, 0

    def take(self):
        request = self.requests[self.next % len(self.requests)]
        self.next += 1
        return request


async def drive(base: str, feed: Feed, seconds: float, concurrency: int) -> tuple[float, dict]:
    """POST for `seconds` with `concurrency` requests in flight; requests/s and status counts."""
    import aiohttp

    codes: dict[int, int] = {}
    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def worker(deadline: float) -> int:
            done = 0
            while time.monotonic() < deadline:
                path, body, signature = feed.take()
                url = base + path
                async with session.post(url, data=body, headers={
                    "X-Twilio-Signature": signature, "Content-Type": "application/x-www-form-urlencoded",
                }) as response:
                    await response.read()
                    codes[response.status] = codes.get(response.status, 0) + 1
                done += 1
            return done

        await asyncio.gather(*(worker(time.monotonic() + 0.5) for _ in range(concurrency)))  # warm
        codes.clear()
        started = time.monotonic()
        counts = await asyncio.gather(*(worker(started + seconds) for _ in range(concurrency)))
        elapsed = time.monotonic() - started
    return sum(counts) / elapsed, codes


def server_connections() -> int:
    """Connections to the bench database other than ours, right after a phase."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                       [DATABASE])
        return cursor.fetchone()[0]


ENDPOINTS = [("bare", "/bench/bare/", "bare Django view (204)"),
             ("signed", "/bench/signed/", "bare view + twilio_webhook (signature)"),
             ("status", "/twilio/status/", "POST /twilio/status/ (signed, full)")]


def start_background(database: str, log) -> list[subprocess.Popen]:
    """The applier that stores the queued callbacks (and settles the leads of calls they make
    final), and a Celery worker: beside daphne on the same cores, as under `make run`."""
    env = server_environment(database)
    commands = [
        [str(_support.ROOT / ".venv/bin/python"), "manage.py", "apply_status_callbacks"],
        [str(_support.ROOT / ".venv/bin/celery"), "--app", "dialer_site", "worker", "--loglevel", "WARNING",
         "--concurrency", "2", "--pool", "threads", "--queues", env["CELERY_QUEUE"]],
    ]
    return [subprocess.Popen(command, cwd=_support.ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log)
            for command in commands]


def settled_down(processes: list[subprocess.Popen], timeout: float = 60.0) -> None:
    """Wait for the background processes to finish starting (Django, Celery, imports), so
    their start-up CPU is not charged to — nor slows — the first endpoint measured."""
    deadline = time.monotonic() + timeout
    before = [_support.cpu_seconds(process.pid) for process in processes]
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = [_support.cpu_seconds(process.pid) for process in processes]
        if all(later - earlier < 0.05 for earlier, later in zip(before, now, strict=True)):
            return
        before = now


def background_caught_up(accepted: int) -> bool:
    """Wait for the applier and the worker to finish what the status phase left them; print
    how far they trailed. True if every accepted callback was stored."""
    import redis
    from django.conf import settings

    from calls import status_stream
    from calls.models import CallEvent
    from campaigns.models import Lead

    queue = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    started = time.monotonic()
    while status_stream.backlog()["entries"] and time.monotonic() - started < 120:
        time.sleep(0.05)
    applied_after = time.monotonic() - started
    while queue.llen(settings.CELERY_TASK_DEFAULT_QUEUE) and time.monotonic() - started < 120:
        time.sleep(0.05)
    stored = CallEvent.objects.count()
    print(f"Applier: {stored:,} of {accepted:,} accepted callbacks stored as CallEvents, the last"
          f" {applied_after:.1f} s after the last request")
    print(f"Leads settled: {Lead.objects.exclude(state__in=['in_call', 'pending']).count():,};"
          f" the worker's queue empty {time.monotonic() - started:.1f} s after the last request")
    return stored == accepted


def pids_named(command: str) -> list[int]:
    pids = []
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() == command:
                pids.append(int(comm.parent.name))
        except (FileNotFoundError, ProcessLookupError):
            continue
    return pids


def cpu_by_process(server, background) -> dict[str, float]:
    """CPU seconds so far of every process a request costs: where the two cores go."""
    applier, worker = background
    return {"daphne": _support.cpu_seconds(server.pid), "applier": _support.cpu_seconds(applier.pid),
            "worker": _support.cpu_seconds(worker.pid),
            "postgres": sum(map(_support.cpu_seconds, pids_named("postgres"))),
            "redis": sum(map(_support.cpu_seconds, pids_named("redis-server"))),
            "client": sum(os.times()[:2])}


def print_cpu_per_request(cpu: dict[str, dict[str, float]], requests_done: dict[str, int]) -> None:
    names = list(next(iter(cpu.values())))
    print(f"\nCPU per request, ms (all rounds): {'endpoint':8}" + "".join(f"{name:>9}" for name in names)
          + f"{'total':>9}")
    for endpoint, spent in cpu.items():
        per_request = {name: 1000 * spent[name] / requests_done[endpoint] for name in names}
        print(f"{'':33}{endpoint:8}" + "".join(f"{per_request[name]:9.2f}" for name in names)
              + f"{sum(per_request.values()):9.2f}")


def bench_server(database: str, requests: dict, args) -> bool:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    rates: dict[str, list[float]] = {name: [] for name, _, _ in ENDPOINTS}
    accepted = 0  # status callbacks answered 204 (the warm-up's included)
    feeds = {name: Feed(requests[name]) for name, _, _ in ENDPOINTS}
    cpu = {name: dict.fromkeys(["daphne", "applier", "worker", "postgres", "redis", "client"], 0.0)
           for name, _, _ in ENDPOINTS}
    with tempfile.TemporaryFile() as log:
        server = start_server(database, port, log)
        background = start_background(database, log)
        settled_down(background)
        try:
            print(f"\ndaphne (1 process) on {base}, aiohttp client, {args.concurrency} in flight,"
                  f" {args.seconds:.0f} s per endpoint per round")
            print(f"{'round':>5} {'endpoint':42} {'req/s':>8} {'db conns':>8}  responses")
            for round_ in range(1, args.rounds + 1):
                for name, _, label in ENDPOINTS:
                    before = cpu_by_process(server, background)
                    rate, codes = asyncio.run(drive(base, feeds[name], args.seconds, args.concurrency))
                    after = cpu_by_process(server, background)
                    for process, seconds in after.items():
                        cpu[name][process] += seconds - before[process]
                    if name == "status":
                        accepted = feeds[name].next
                    rates[name].append(rate)
                    print(f"{round_:5d} {label:42} {rate:8.0f} {server_connections():8d}"
                          f"  {dict(sorted(codes.items()))}")
            print_cpu_per_request(cpu, {name: feed.next for name, feed in feeds.items()})
            kept_up = background_caught_up(accepted)
        finally:
            for process in (server, *background):
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
            log.seek(0)
            errors = log.read().decode(errors="replace").strip()
            if errors:
                print(f"The servers' log (last 1,500 characters):\n{errors[-1500:]}")
    by_round = zip(rates["bare"], rates["status"], strict=True)
    print("Status callbacks / bare view, round by round: "
          + ", ".join(f"{status / bare:.2f}×" for bare, status in by_round))
    bare, signed, status = (statistics.median(rates[name]) for name, _, _ in ENDPOINTS)
    print(f"\nMedian over rounds: bare {bare:.0f} req/s, signed bare {signed:.0f} req/s"
          f" ({signed / bare:.2f}×), status callback {status:.0f} req/s")
    ratio = status / bare
    met = ratio >= GOAL_RATIO and kept_up
    print(f"Status callbacks / bare view: {ratio:.2f}× (goal ≥ {GOAL_RATIO}×, every callback stored) —"
          f" {'met' if met else 'NOT met'}")
    return met


def reset_calls() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM calls_callevent")
        cursor.execute("""UPDATE calls_call SET status = 'queued', last_sequence_number = NULL,
            answered_at = NULL, ended_at = NULL, duration_seconds = NULL, answered_by = '',
            disposition = ''""")
        cursor.execute("""UPDATE campaigns_lead SET state = 'in_call', last_outcome = '',
            next_attempt_at = now() WHERE state <> 'pending'""")


def bench_in_process(requests: dict, seconds: float) -> None:
    """Django's test client, no server and no client cost: the views' own throughput; then
    the applier storing what the status view queued."""
    from django.test import Client

    reset_calls()
    client = Client()
    print("\nIn-process (Django test client, sequential, one thread):")
    results = {}
    for name, _, _ in ENDPOINTS:
        feed, done = Feed(requests[name]), 0
        started = time.perf_counter()
        while time.perf_counter() - started < seconds:
            path, body, signature = feed.take()
            response = client.post(path, body, content_type="application/x-www-form-urlencoded",
                                   headers={"X-Twilio-Signature": signature})
            assert response.status_code == 204, (name, response.status_code, response.content[:200])
            done += 1
        results[name] = done / (time.perf_counter() - started)
        print(f"  {name:8} {results[name]:8.0f} req/s  {1000 / results[name]:6.2f} ms each")
    print(f"  status / bare: {results['status'] / results['bare']:.2f}×")
    from calls.models import CallEvent
    from calls.status_stream import Applier

    started = time.perf_counter()
    applied = Applier("bench").apply_all_waiting()
    elapsed = time.perf_counter() - started
    print(f"  applier: {applied:,} queued callbacks stored in {elapsed:.2f} s, {applied / elapsed:,.0f}/s"
          f" ({CallEvent.objects.count():,} CallEvents)")


def profile(requests: list, count: int = 400) -> None:
    import cProfile
    import pstats

    from django.test import Client

    from calls.status_stream import Applier

    reset_calls()
    client, feed = Client(), Feed(requests)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(count):
        path, body, signature = feed.take()
        client.post(path, body, content_type="application/x-www-form-urlencoded",
                    headers={"X-Twilio-Signature": signature})
    Applier("bench").apply_all_waiting()
    profiler.disable()
    print(f"\ncProfile of {count} status callbacks in-process, queued and applied (cumulative, top 35):")
    pstats.Stats(profiler, stream=sys.stdout).sort_stats("cumulative").print_stats(35)


def main() -> int:
    args = parse_args()
    database = _support.create_database(DATABASE)
    _support.setup_django(database, settings_module=SETTINGS)
    try:
        calls = build()
        requests = {name: signed_requests(calls, path) for name, path, _ in ENDPOINTS}
        print(f"{len(calls):,} dialled calls, {len(requests['status']):,} signed status callbacks prepared")
        met = bench_server(database, requests, args)
        bench_in_process(requests, seconds=4.0)
        if args.profile:
            profile(requests["status"])
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            _support.drop_database(DATABASE)
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
