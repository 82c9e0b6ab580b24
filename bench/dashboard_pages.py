#!/usr/bin/env python
"""How fast the busiest dashboard pages render with 100,000 leads and 1,000,000 calls.

Builds the data once in a dedicated PostgreSQL database (INSERT … SELECT generate_series,
about a minute), then times each page server-side with Django's test client: warm, the
median of several runs, and the number of SQL queries each page ran. The goal is < 300 ms.

    .venv/bin/python bench/dashboard_pages.py                 # build if missing, then time
    .venv/bin/python bench/dashboard_pages.py --rebuild       # drop the database and start over
    .venv/bin/python bench/dashboard_pages.py --database-url postgres://postgres@127.0.0.1:5432/other
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

GOAL_MS = 300


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/dialer_bench")
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--live", type=int, default=20, help="calls in progress on the board")
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--rebuild", action="store_true", help="drop and rebuild the database")
    return parser.parse_args()


def ensure_database(url: str, rebuild: bool) -> None:
    """Create (or with --rebuild, recreate) the bench database: never the project's own."""
    import psycopg

    base, name = url.rsplit("/", 1)
    if name in ("", "postgres", "test", "dialer"):
        sys.exit(f"Refusing to use database {name!r} for the benchmark; name a dedicated one.")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and rebuild:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            exists = None
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def setup_django(url: str) -> None:
    os.environ.update({
        "DATABASE_URL": url, "READ_DOTENV": "false", "DEBUG": "false",
        "SECRET_KEY": "bench-only-secret-key-not-for-production-0123456789",
        "TWILIO_AUTH_TOKEN": "bench", "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
        "ALLOWED_HOSTS": "testserver", "SECURE_SSL_REDIRECT": "false", "LOG_LEVEL": "WARNING",
        "SESSION_COOKIE_SECURE": "false", "CSRF_COOKIE_SECURE": "false",
    })
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dialer_site.settings")
    import django

    django.setup()


# Each statement builds one table from generate_series; ids are contiguous after a TRUNCATE …
# RESTART IDENTITY, so row g of one table can point at row g of another by arithmetic.
# {leads}, {calls} and {live} are replaced by integers before the statement runs.
BUILD_SQL = [
    "TRUNCATE calls_transcriptline, calls_callevent, calls_call, campaigns_lead, campaigns_customer,"
    " campaigns_donotcall, campaigns_campaign RESTART IDENTITY CASCADE",
    """INSERT INTO campaigns_campaign (name, slug, status, status_reason, caller_id, greeting_template,
         system_prompt_template, script, voice_stack, voicemail_message, answering_machine_detection,
         window_start, window_end, default_timezone, max_concurrent_calls, max_attempts,
         retry_delays_minutes, ring_timeout_seconds, created_at, updated_at)
       SELECT name, '', status, '', '+12025550100', 'Hello', '', '{}', 'lite', '', true, '09:00', '20:00',
         'America/New_York', 20, 3, '[30, 120]', 30, now(), now()
       FROM (VALUES ('Bench: spring renewals', 'running'), ('Bench: small pilot', 'completed'))
         AS v(name, status)""",
    """INSERT INTO campaigns_customer (phone, first_name, last_name, email, timezone, attributes,
         created_at, updated_at)
       SELECT '+1202' || lpad(g::text, 7, '0'), 'First' || g, 'Last' || (g % 5000), '', '', '{}', now(), now()
       FROM generate_series(1, {leads}) g""",
    # Lead states: 60 % done, 20 % pending, 10 % retry, 5 % failed, 3 % do not call, 2 % cancelled;
    # the first --live leads are in a call right now.
    """INSERT INTO campaigns_lead (campaign_id, customer_id, parameters, state, attempts, next_attempt_at,
         last_outcome, last_error, notes, callback_at, created_at, updated_at)
       SELECT 1, g, '{}', s.state, CASE WHEN s.state = 'pending' THEN 0 ELSE 1 + g % 3 END,
         CASE WHEN s.state IN ('pending', 'retry') THEN now() + (g % 600) * interval '1 minute' END,
         s.outcome, '', '', CASE WHEN s.outcome = 'callback_requested' THEN now() + interval '1 day' END,
         now(), now()
       FROM generate_series(1, {leads}) g
       CROSS JOIN LATERAL (SELECT
         CASE WHEN g <= {live} THEN 'in_call' WHEN g % 100 < 60 THEN 'done'
              WHEN g % 100 < 80 THEN 'pending' WHEN g % 100 < 90 THEN 'retry' WHEN g % 100 < 95 THEN 'failed'
              WHEN g % 100 < 98 THEN 'do_not_call' ELSE 'cancelled' END AS state,
         CASE WHEN g <= {live} OR g % 100 BETWEEN 60 AND 79 THEN ''
              WHEN g % 100 >= 98 THEN ''
              ELSE (ARRAY['interested', 'not_interested', 'callback_requested', 'voicemail', 'no_answer',
                          'busy', 'hung_up', 'completed', 'wrong_number', 'do_not_call'])[1 + g % 10] END
           AS outcome) s""",
    # Calls over the last ~29 days, newest last; 1 % inbound; the newest --live are in progress.
    """INSERT INTO calls_call (direction, campaign_id, customer_id, lead_id, attempt, from_number, to_number,
         call_sid, stream_sid, status, answered_by, parameters, created_at, answered_at, ended_at,
         duration_seconds, disposition, notes, summary, recording, metrics, error_code, error_message)
       SELECT CASE WHEN g % 100 = 0 THEN 'inbound' ELSE 'outbound' END, 1, l, l, 1 + g % 3,
         '+12025550100', '+1202' || lpad(l::text, 7, '0'), 'CA' || md5(g::text), '', s.status,
         CASE WHEN s.status IN ('completed', 'in-progress') THEN
           CASE WHEN g % 10 = 0 THEN 'machine_end_beep' ELSE 'human' END ELSE '' END,
         '{}', t, CASE WHEN s.status IN ('completed', 'in-progress') THEN t + interval '8 seconds' END,
         CASE WHEN s.status <> 'in-progress' THEN t + interval '70 seconds' END,
         CASE WHEN s.status = 'completed' THEN 62 END,
         CASE s.status WHEN 'completed' THEN (ARRAY['interested', 'not_interested', 'callback_requested',
           'hung_up', 'completed'])[1 + g % 5] WHEN 'no-answer' THEN 'no_answer' WHEN 'busy' THEN 'busy'
           WHEN 'failed' THEN 'failed' ELSE '' END,
         '', '', '', '{"first_response_ms": 700}', '', ''
       FROM generate_series(1, {calls}) g
       CROSS JOIN LATERAL (SELECT 1 + (g::bigint * 7919) % {leads} AS l,
         now() - ({calls} - g) * interval '2.5 seconds' AS t) k
       CROSS JOIN LATERAL (SELECT CASE WHEN g > {calls} - {live} THEN 'in-progress'
         WHEN g % 100 < 70 THEN 'completed' WHEN g % 100 < 90 THEN 'no-answer'
         WHEN g % 100 < 97 THEN 'busy' ELSE 'failed' END AS status) s""",
    # The live calls belong to the in-call leads, and each has said something.
    """UPDATE calls_call SET lead_id = id - ({calls} - {live}), customer_id = id - ({calls} - {live})
       WHERE id > {calls} - {live}""",
    """INSERT INTO calls_transcriptline (call_id, speaker, text, offset_ms, created_at)
       SELECT c, (ARRAY['bot', 'caller'])[1 + n % 2], 'Line ' || n || ' of call ' || c, n * 2500, now()
       FROM generate_series({calls} - {live} + 1, {calls}) c, generate_series(1, 6) n""",
    """INSERT INTO calls_callevent (call_id, call_status, sequence_number, params, received_at)
       SELECT c, s, n, '{}', now() FROM generate_series({calls} - 1000, {calls}) c,
         unnest(ARRAY['initiated', 'ringing', 'in-progress']) WITH ORDINALITY AS e(s, n)""",
]


def build(leads: int, calls: int, live: int) -> None:
    from django.db import connection

    params = {"leads": leads, "calls": calls, "live": live}
    with connection.cursor() as cursor:
        for sql in BUILD_SQL:
            started = time.perf_counter()
            for name, value in params.items():
                sql = sql.replace("{" + name + "}", str(int(value)))
            cursor.execute(sql)  # no parameters: psycopg leaves the SQL's % (modulo) alone
            print(f"  {sql.split()[0].lower():8} {sql.split()[2]:24} {time.perf_counter() - started:6.1f} s")
    connection.set_autocommit(True)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def built(leads: int, calls: int) -> bool:
    from calls.models import Call
    from campaigns.models import Lead

    newest = Call.objects.order_by("-id").values_list("id", flat=True).first()
    return Lead.objects.count() == leads and newest == calls


def time_page(client, url: str, runs: int) -> tuple[float, float, int, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(2):  # warm: connection, templates, PostgreSQL's buffers
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        client.get(url)
        timings.append((time.perf_counter() - started) * 1000)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    return statistics.median(timings), max(timings), len(queries), len(response.content)


def main() -> int:
    args = parse_args()
    ensure_database(args.database_url, args.rebuild)
    setup_django(args.database_url)
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client

    call_command("migrate", verbosity=0)
    if not built(args.leads, args.calls):
        print(f"Building {args.leads:,} leads and {args.calls:,} calls …")
        build(args.leads, args.calls, args.live)

    user, _ = get_user_model().objects.get_or_create(username="bench", defaults={"is_staff": True})
    client = Client()
    client.force_login(user)
    from calls.models import Call

    last_call = Call.objects.order_by("-id").values_list("id", flat=True).first()
    pages = [
        ("campaign detail", "/campaigns/1/"),
        ("campaign detail, leads page 1,000", f"/campaigns/1/?after={args.leads // 2}#leads"),
        ("campaign detail, state=retry", "/campaigns/1/?state=retry"),
        ("campaign detail, search", "/campaigns/1/?q=Last4242"),
        ("board catch-up JSON", "/campaigns/1/board.json"),
        ("call list", "/calls/"),
        ("call list, page 10,000 back", f"/calls/?before={last_call - 500_000}"),
        ("call list, campaign filter", "/calls/?campaign=1"),
        ("call list, status=failed", "/calls/?status=failed"),
        ("call list, live now", "/calls/?status=live"),
        ("campaigns", "/campaigns/"),
        ("call detail", f"/calls/{last_call}/"),
        ("inbound", "/calls/inbound/"),
        ("customers search", "/customers/?q=Last42"),
    ]
    print(f"\n{'page':38} {'median ms':>10} {'max ms':>8} {'queries':>8} {'KiB':>6}")
    worst = 0.0
    for name, url in pages:
        median, slowest, queries, size = time_page(client, url, args.runs)
        worst = max(worst, median) if name.startswith(("campaign detail", "call list")) else worst
        flag = "" if median < GOAL_MS else "  ← over the goal"
        print(f"{name:38} {median:10.1f} {slowest:8.1f} {queries:8d} {size / 1024:6.0f}{flag}")
    print(f"\nCampaign detail and call list, slowest median: {worst:.1f} ms (goal < {GOAL_MS} ms).")
    return 0 if worst < GOAL_MS else 1


if __name__ == "__main__":
    sys.exit(main())
