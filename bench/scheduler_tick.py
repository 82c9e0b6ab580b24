#!/usr/bin/env python
"""One dispatch tick over a campaign of 1,000,000 leads, and the CPS pacer's accuracy.

Tick: builds a dedicated PostgreSQL database (`bench_scheduler`, dropped at the end) with
1,000,000 customers and leads in one running campaign — INSERT … SELECT generate_series, no
ORM. The mix: 70 % pending (most due, spread over three days; a fifth not due yet), 10 % retry
(a third due), the rest settled; customers spread over the US time zones with 1 % of unknown
zone and 1 % on the do-not-call list; 10 calls live, so a tick has room for 50 (the claim
batch). Each lead's own zone (`campaigns_lead.timezone`, which the dispatcher claims by) is
its customer's, as migration 0004 fills it: blank for the 1 % of blank customers, which a
tick (200 at a time) or the resolve_lead_zones task resolves from the number.

Then `calls.dialer.claiming.claim_due_leads(campaign_id, now)` is timed end to end (committed,
after-commit Channels publishes included) for a few fixed wall-clock times, with the 1 % of
blank lead zones as an import leaves them and "all resolved" (as the resolve_lead_zones task
soon has them: the resolve itself is timed too). The claimed rows and the zones a tick
resolved are reset between runs so every run sees the same data. Printed: median/p95 per
scenario, statements per tick (and the slowest of them), and EXPLAIN (ANALYZE, BUFFERS) of
one zone's claim query and of `claiming.CAMPAIGN_ZONES_SQL`. Goal: median < 50 ms, plans on
indexes (lead_zone_due_idx).

Pacing: 4 processes contend on one `calls.dialer.pacing.CallsPerSecond(rate)` bucket in Redis
(DB 14) at 1, 10 and 50 calls per second, each process calling `take()` in a loop as
place_call does. Printed: achieved rate vs target, the most tokens in any 1-second window,
and p50/p99 of |gap − 1/rate| over the inter-token gaps of all processes merged.

    .venv/bin/python bench/scheduler_tick.py               # about 2–3 minutes
    .venv/bin/python bench/scheduler_tick.py --keep        # keep the database for a rerun
    .venv/bin/python bench/scheduler_tick.py --reuse       # reuse a kept database
"""

import argparse
import contextlib
import itertools
import multiprocessing
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _support

GOAL_MS = 50
DATABASE = "bench_scheduler"
PACER_KEY = "bench:cps-bucket"

US_ZONES = ["America/New_York", "America/Chicago", "America/Denver", "America/Phoenix",
            "America/Los_Angeles", "America/Detroit", "America/Indiana/Indianapolis",
            "America/Anchorage", "Pacific/Honolulu"]
# When the tick runs, after the data's reference time (18:00 UTC on a winter day): which of the US zones
# the campaign's 09:00–20:00 window is open in decides which zones are claimed from.
# "1 % blank": the leads' zones as an import leaves them (a tick resolves 200 first).
# "all resolved": after the resolve_lead_zones task, as a running campaign's ticks soon see
# them; a night tick then reads no lead at all. "no publish" is a diagnostic: the same tick
# with calls.live.publish_new_calls (one after-commit Channels send) stubbed out.
BLANK, RESOLVED, NO_PUBLISH = "1 % blank", "all resolved", "all resolved, no publish"
MIDDAY, EVENING, NIGHT = timedelta(0), timedelta(hours=7, minutes=30), timedelta(hours=13)
SCENARIOS = [("midday", MIDDAY, BLANK), ("midday", MIDDAY, RESOLVED), ("midday", MIDDAY, NO_PUBLISH),
             ("evening", EVENING, BLANK), ("evening", EVENING, RESOLVED),
             ("night", NIGHT, BLANK), ("night", NIGHT, RESOLVED)]
# The zone whose claim query is EXPLAINed: the biggest (38 % of the leads).
EXPLAIN_ZONE = "America/New_York"

# Customers' zones by g·37 mod 100; 1 % blank (resolved from the number or the campaign's
# default). Lead g is customer g's. As lead states go by g mod 100 (a bijection of the same
# residue), each zone has a fixed mix of states — the blank 1 % are all pending (g ≡ 27) —
# kept as it was so these figures compare with the runs before lead zones.
ZONE_SQL = """CASE WHEN h < 38 THEN 'America/New_York' WHEN h < 58 THEN 'America/Chicago'
              WHEN h < 65 THEN 'America/Denver' WHEN h < 69 THEN 'America/Phoenix'
              WHEN h < 87 THEN 'America/Los_Angeles' WHEN h < 91 THEN 'America/Detroit'
              WHEN h < 95 THEN 'America/Indiana/Indianapolis' WHEN h < 97 THEN 'America/Anchorage'
              WHEN h < 99 THEN 'Pacific/Honolulu' ELSE '' END"""
ZONE_HASH = "LATERAL (SELECT mod(g * 37, 100) AS h) z"

# %(now)s is the bench's reference time; mod() rather than % keeps psycopg's placeholders simple.
BUILD_SQL = [
    """INSERT INTO campaigns_campaign (name, slug, status, status_reason, caller_id, greeting_template,
         system_prompt_template, script, voice_stack, voicemail_message, answering_machine_detection,
         window_start, window_end, default_timezone, max_concurrent_calls, max_attempts,
         retry_delays_minutes, ring_timeout_seconds, created_at, updated_at)
       VALUES ('Bench: one million leads', 'bench', 'running', '', '+12025550100', 'Hello', '', '{}',
         'lite', '', true, '09:00', '20:00', 'America/New_York', 60, 3, '[30, 120, 1440]', 30,
         %(now)s, %(now)s)""",
    """INSERT INTO campaigns_customer (phone, first_name, last_name, email, timezone, attributes,
         created_at, updated_at)
       SELECT '+1' || (2000000000 + g)::text, 'First' || g, 'Last' || mod(g, 5000), '',
         """ + ZONE_SQL + """, '{}', %(now)s, %(now)s
       FROM generate_series(1, %(leads)s) g, """ + ZONE_HASH,
    """INSERT INTO campaigns_donotcall (phone, reason, source, created_at)
       SELECT '+1' || (2000000000 + g)::text, 'Asked not to be called', 'import', %(now)s
       FROM generate_series(97, %(leads)s, 97) g""",
    # 70 % pending (4 in 5 due, spread over the last three days), 10 % retry (a third due),
    # 15 % done, 2 % failed, 2 % do-not-call, 1 % cancelled; the first 10 are in a call. The
    # lead's zone is its customer's (the same expression of g), as migration 0004 copies it.
    """INSERT INTO campaigns_lead (campaign_id, customer_id, parameters, state, attempts, next_attempt_at,
         claimed_at, last_outcome, last_error, notes, callback_at, created_at, updated_at, timezone)
       SELECT 1, g, '{"plan": "gold"}', s.state,
         CASE s.state WHEN 'pending' THEN 0 WHEN 'retry' THEN 1 + mod(g, 2) ELSE 1 + mod(g, 3) END,
         CASE WHEN s.state = 'pending' AND mod(g * 7, 5) > 0
                THEN %(now)s - mod(g * 7919, 4320) * interval '1 minute'
              WHEN s.state = 'pending' THEN %(now)s + mod(g * 7919, 1440) * interval '1 minute'
              WHEN s.state = 'retry' AND mod(g * 11, 3) = 0
                THEN %(now)s - mod(g * 104729, 720) * interval '1 minute'
              WHEN s.state = 'retry' THEN %(now)s + mod(g * 104729, 1440) * interval '1 minute'
         END,
         CASE WHEN s.state = 'in_call' THEN %(now)s END,
         CASE s.state WHEN 'retry' THEN (ARRAY['no_answer', 'busy', 'voicemail'])[1 + mod(g, 3)]
           WHEN 'done' THEN (ARRAY['interested', 'not_interested', 'completed'])[1 + mod(g, 3)]
           WHEN 'failed' THEN 'no_answer' WHEN 'do_not_call' THEN 'do_not_call' ELSE '' END,
         '', '', NULL, %(now)s - interval '3 days', %(now)s, """ + ZONE_SQL + """
       FROM generate_series(1::bigint, %(leads)s) g, """ + ZONE_HASH + """
       CROSS JOIN LATERAL (SELECT CASE WHEN g <= 10 THEN 'in_call'
         WHEN mod(g, 100) < 70 THEN 'pending' WHEN mod(g, 100) < 80 THEN 'retry'
         WHEN mod(g, 100) < 95 THEN 'done' WHEN mod(g, 100) < 97 THEN 'failed'
         WHEN mod(g, 100) < 99 THEN 'do_not_call' ELSE 'cancelled' END AS state) s""",
    # One call per attempted lead (about 300,000), the first 10 live.
    """INSERT INTO calls_call (direction, campaign_id, customer_id, lead_id, attempt, from_number, to_number,
         call_sid, stream_sid, status, answered_by, parameters, created_at, answered_at, ended_at,
         duration_seconds, disposition, notes, summary, recording, metrics, error_code, error_message)
       SELECT 'outbound', 1, l.customer_id, l.id, greatest(l.attempts, 1), '+12025550100',
         '+1' || (2000000000 + l.id)::text, 'CA' || md5(l.id::text), '',
         CASE WHEN l.state = 'in_call' THEN 'in-progress' WHEN l.state = 'retry' THEN 'no-answer'
              ELSE 'completed' END,
         '', '{}', %(now)s - interval '1 day', NULL, NULL, NULL, l.last_outcome, '', '', '', '{}', '', ''
       FROM campaigns_lead l WHERE l.state <> 'pending' ORDER BY l.id""",
    # What a run's claims are reset from.
    """CREATE TABLE bench_lead_snapshot AS SELECT id, state, attempts, claimed_at, last_outcome,
         callback_at, updated_at FROM campaigns_lead WHERE state IN ('pending', 'retry')""",
    "ALTER TABLE bench_lead_snapshot ADD PRIMARY KEY (id)",
    # The leads a tick or the resolve task gives a zone (callable, blank): what is reset.
    """CREATE TABLE bench_blank_lead AS SELECT id FROM campaigns_lead
       WHERE timezone = '' AND state IN ('pending', 'retry')""",
    "ALTER TABLE bench_blank_lead ADD PRIMARY KEY (id)",
]

RESET_SQL = [
    """UPDATE campaigns_lead l SET state = s.state, attempts = s.attempts, claimed_at = s.claimed_at,
         last_outcome = s.last_outcome, callback_at = s.callback_at, updated_at = s.updated_at
       FROM bench_lead_snapshot s WHERE l.id = s.id AND l.id = ANY(%(leads)s)""",
    # A tick resolves and keeps lead zones (200 a tick) even for leads it does not claim.
    """UPDATE campaigns_lead SET timezone = ''
       WHERE id IN (SELECT id FROM bench_blank_lead) AND timezone <> ''""",
    "DELETE FROM calls_call WHERE id = ANY(%(calls)s)",
]


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=20, help="timed ticks per scenario")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--reuse", action="store_true", help="reuse a database kept by --keep")
    parser.add_argument("--processes", type=int, default=4, help="processes contending on the pacer")
    parser.add_argument("--skip-pacing", action="store_true")
    parser.add_argument("--skip-tick", action="store_true")
    return parser.parse_args()


def reference_now() -> datetime:
    """A fixed winter instant (US standard time), so a --reuse run sees the same due leads."""
    return datetime(2026, 1, 14, 18, 0, tzinfo=UTC)


def build(leads: int, now: datetime) -> None:
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    print(f"Building {leads:,} customers and leads with SQL …")
    with connection.cursor() as cursor:
        for sql in BUILD_SQL:
            started = time.perf_counter()
            cursor.execute(sql, {"now": now, "leads": leads})
            words = sql.split()
            print(f"  {words[0].lower():7} {words[2]:22} {cursor.rowcount:>10,} rows"
                  f" {time.perf_counter() - started:6.1f} s")
        started = time.perf_counter()
        cursor.execute("VACUUM ANALYZE")
        print(f"  vacuum analyze {time.perf_counter() - started:26.1f} s")
        cursor.execute("SELECT state, count(*) FROM campaigns_lead GROUP BY 1 ORDER BY 2 DESC")
        print("  leads: " + ", ".join(f"{state} {count:,}" for state, count in cursor.fetchall()))
        cursor.execute("SELECT timezone, count(*) FROM campaigns_lead WHERE state IN ('pending', 'retry')"
                       " GROUP BY 1 ORDER BY 2 DESC")
        print("  callable leads by zone: "
              + ", ".join(f"{zone or '(blank)'} {count:,}" for zone, count in cursor.fetchall()))


def claim_query(campaign, zone: str, now: datetime):
    """One zone's claim queryset, as claim_due_leads runs it, for EXPLAIN."""
    from calls.dialer.claiming import CLAIM_BATCH_MAX, due_leads

    due = due_leads(campaign, zone, now).select_related("customer")
    return due.select_for_update(skip_locked=True, of=("self",))[:CLAIM_BATCH_MAX]


def explain_claim(campaign, zone: str, now: datetime) -> str:
    from django.db import transaction

    with transaction.atomic():  # FOR UPDATE needs a transaction; EXPLAIN ANALYZE locks, so roll back
        plan = claim_query(campaign, zone, now).explain(analyze=True, buffers=True)
        transaction.set_rollback(True)
    return plan


def explain_zones(campaign) -> str:
    from django.db import connection

    from calls.dialer.claiming import CAMPAIGN_ZONES_SQL

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + CAMPAIGN_ZONES_SQL, [campaign.pk, campaign.pk])
        return "\n".join(line for (line,) in cursor.fetchall())


def reset(call_ids: list[int], blank_zones: bool = True) -> None:
    """Undo a tick: the claimed leads, their calls and (unless `blank_zones` is off) the lead
    zones it resolved."""
    from django.db import connection

    from calls.models import Call

    leads = list(Call.objects.filter(pk__in=call_ids).values_list("lead_id", flat=True))
    params = {"calls": call_ids, "leads": leads}
    with connection.cursor() as cursor:
        for sql in RESET_SQL if blank_zones else [RESET_SQL[0], RESET_SQL[2]]:
            cursor.execute(sql, params)


def time_ticks(campaign_id: int, now: datetime, runs: int, kind: str):
    """Timings (ms) of `runs` ticks, how many leads the last claimed, and the statements
    (ms, SQL) of one more tick."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from calls.dialer.claiming import claim_due_leads

    blank_zones = kind == BLANK
    reset(claim_due_leads(campaign_id, now), blank_zones)  # warm: connection, plans, buffers
    timings, claimed = [], 0
    for _ in range(runs):
        started = time.perf_counter()
        call_ids = claim_due_leads(campaign_id, now)
        timings.append((time.perf_counter() - started) * 1000)
        claimed = len(call_ids)
        reset(call_ids, blank_zones)
    with CaptureQueriesContext(connection) as queries:
        call_ids = claim_due_leads(campaign_id, now)
    reset(call_ids, blank_zones)
    return timings, claimed, [(float(q["time"]) * 1000, q["sql"]) for q in queries.captured_queries]


def resolve_all(campaign) -> tuple[int, int, float]:
    """What the resolve_lead_zones task does to a fresh import, until no lead is left blank:
    (leads resolved, resolve_zones calls, seconds)."""
    from calls.dialer.claiming import RESOLVE_PER_TASK, resolve_zones

    started, total, calls = time.perf_counter(), 0, 0
    while done := resolve_zones(campaign, RESOLVE_PER_TASK):
        total, calls = total + done, calls + 1
    return total, calls, time.perf_counter() - started


@contextlib.contextmanager
def variant(kind: str, campaign, resolves: list):
    from calls import live

    if kind == BLANK:
        yield
        return
    resolves.append(resolve_all(campaign))
    try:
        if kind == NO_PUBLISH:
            with mock.patch.object(live, "publish_new_calls", lambda calls: None):
                yield
        else:
            yield
    finally:
        reset([])  # the zones back to blank, as the build left them


def scenario_label(name: str, kind: str, campaign, now: datetime) -> str:
    from campaigns.calling_window import is_open

    open_zones = sum(1 for zone in US_ZONES if is_open(zone, campaign, now))
    return f"{name} {now:%H:%M} UTC, {open_zones}/{len(US_ZONES)} open, {kind}"


def shorten(sql: str, width: int = 118) -> str:
    sql = " ".join(sql.split())
    return sql if len(sql) <= width else sql[:width - 1] + "…"


def publish_web_room() -> None:
    """The dispatcher claims only what live web processes can take (calls.capacity): one with
    room for every claim, beating in Redis for the whole bench."""
    import asyncio

    import redis.asyncio as aioredis
    from django.conf import settings

    from calls import capacity

    settings.WEB_HEARTBEAT_SECONDS = 3600
    load = capacity.ProcessLoad(capacity=100_000, lag_limit_ms=1000)

    async def beat():
        async with aioredis.Redis.from_url(settings.REDIS_URL) as client:
            await capacity.publish(load, client)
    asyncio.run(beat())


def bench_tick(args) -> bool:
    from campaigns.calling_window import is_open
    from campaigns.models import Campaign

    publish_web_room()
    campaign = Campaign.objects.get()
    base = reference_now()
    print(f"\nOne tick: claim_due_leads({campaign.pk}, now) — {args.runs} committed runs per scenario,"
          f" max_concurrent_calls {campaign.max_concurrent_calls} with 10 live (room 50)")
    print(f"{'scenario':52} {'claimed':>7} {'queries':>7} {'median ms':>9} {'p95 ms':>7} {'max ms':>7}")
    medians, statements, resolves = [], [], []
    for name, offset, kind in SCENARIOS:
        now = base + offset
        with variant(kind, campaign, resolves):
            timings, claimed, queries = time_ticks(campaign.pk, now, args.runs, kind)
        median, p95 = statistics.median(timings), _support.percentile(timings, 95)
        if kind != NO_PUBLISH:
            medians.append(median)
        flag = "" if median < GOAL_MS else "  ← over the goal"
        label = scenario_label(name, kind, campaign, now)
        statements.append((label, queries))
        print(f"{label:52} {claimed:7d} {len(queries):7d} {median:9.1f} {p95:7.1f} {max(timings):7.1f}{flag}")
    for total, calls, seconds in resolves[:1]:
        print(f"\nresolve_lead_zones' work on the blank 1 %: {total:,} leads in {calls} resolve_zones"
              f" call(s), {seconds * 1000:.0f} ms (then one more call finding none)")

    print("\nThe slowest statements of one tick per scenario (ms, SQL):")
    for label, queries in statements:
        total = sum(ms for ms, _ in queries)
        print(f"  {label} — {len(queries)} statements, {total:.1f} ms in SQL")
        for ms, sql in sorted(queries, key=lambda q: -q[0])[:3]:
            print(f"    {ms:7.1f}  {shorten(sql)}")

    resolves = []
    with variant(RESOLVED, campaign, resolves):
        for name, offset in [("midday", MIDDAY), ("evening", EVENING)]:
            now = base + offset
            label = scenario_label(name, RESOLVED, campaign, now)
            zone = next(z for z in [EXPLAIN_ZONE, *US_ZONES] if is_open(z, campaign, now))
            print(f"\nEXPLAIN (ANALYZE, BUFFERS) of one zone's claim query ({zone}) — {label}:")
            print("  " + explain_claim(campaign, zone, now).replace("\n", "\n  "))
        print(f"\nEXPLAIN (ANALYZE, BUFFERS) of claiming.CAMPAIGN_ZONES_SQL — {RESOLVED}:")
        print("  " + explain_zones(campaign).replace("\n", "\n  "))
    print(f"\nEXPLAIN (ANALYZE, BUFFERS) of claiming.CAMPAIGN_ZONES_SQL — {BLANK}:")
    print("  " + explain_zones(campaign).replace("\n", "\n  "))
    return all(median < GOAL_MS for median in medians)


# --- Pacing -------------------------------------------------------------------------------


def pace_worker(rate: float, start_at: float, seconds: float, stamps) -> None:
    """One dialling process: take tokens as place_call does, note when each one came."""
    import redis

    from calls.dialer.pacing import CallsPerSecond

    bucket = CallsPerSecond(rate, redis.Redis.from_url(_support.BENCH_REDIS_URL), key=PACER_KEY)
    time.sleep(max(0.0, start_at - time.time()))
    mine = []
    while True:
        if not bucket.take(timeout=30):
            continue
        now = time.time()
        if now >= start_at + seconds:
            break
        mine.append(now)
    stamps.extend(mine)


def bench_pacing(processes: int) -> list[tuple[float, float, float]]:
    import redis

    redis.Redis.from_url(_support.BENCH_REDIS_URL).delete(PACER_KEY)
    context = multiprocessing.get_context("spawn")
    results = []
    print(f"\nPacing: {processes} processes contending on CallsPerSecond(rate) in Redis DB 14")
    print(f"{'target/s':>8} {'seconds':>7} {'tokens':>6} {'achieved/s':>10} {'max in 1 s':>10}"
          f" {'p50 |gap−1/rate| ms':>20} {'p99 ms':>7} {'max ms':>7}")
    with context.Manager() as manager:
        for rate, seconds in [(1, 20.0), (10, 8.0), (50, 6.0)]:
            stamps = manager.list()
            start_at = time.time() + 1.5  # every process started and connected by then
            workers = [context.Process(target=pace_worker, args=(rate, start_at, seconds, stamps))
                       for _ in range(processes)]
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join()
            times = sorted(stamps)
            gaps = [b - a for a, b in itertools.pairwise(times)]
            errors = [abs(gap - 1 / rate) * 1000 for gap in gaps]
            achieved = (len(times) - 1) / (times[-1] - times[0])
            burst = max(sum(1 for t in times[i:] if t < start + 1.0) for i, start in enumerate(times))
            p50, p99 = _support.percentile(errors, 50), _support.percentile(errors, 99)
            print(f"{rate:8d} {seconds:7.0f} {len(times):6d} {achieved:10.2f} {burst:10d}"
                  f" {p50:20.2f} {p99:7.2f} {max(errors):7.2f}")
            results.append((rate, achieved, p99))
    return results


def main() -> int:
    args = parse_args()
    started = time.perf_counter()
    url = _support.database_url(DATABASE) if args.reuse else _support.create_database(DATABASE)
    _support.setup_django(url)
    ok = True
    try:
        if not args.skip_tick:
            if not args.reuse:
                build(args.leads, reference_now())
            ok = bench_tick(args)
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            _support.drop_database(DATABASE)
    if not args.skip_pacing:
        bench_pacing(args.processes)
    print(f"\nTick goal (median < {GOAL_MS} ms in every scenario): {'met' if ok else 'NOT met'}."
          f" Total {time.perf_counter() - started:.0f} s.")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
