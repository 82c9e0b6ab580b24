"""GET /health/: can this process reach the database, Redis and at least one Celery
worker? 200 when all answer, 503 naming what does not — for load balancers and monitors.
A web process that drains (SIGTERM, dialer_site.web_server) answers 503 "draining" too, so
the load balancer stops sending it work while its calls finish.
It also reports whether Twilio's status callbacks are being applied, whether the web
processes have room for more calls (`dialling`: none live, or all full, holds dialling) and
whether this process takes new media streams; these are named there but leave the status
alone, since taking web processes out of the load balancer would only stop Twilio's
callbacks reaching the stream (a full one still serves everything else). It
needs no login, so an anonymous caller (a load balancer) is told only ok or failing per
component; the details (which exception, how many callbacks wait) are for staff, since an
error's text can name hosts, ports and users."""

import redis
from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.http import require_GET

from calls import capacity, status_stream
from dialer_site.celery import app

WORKER_PING_SECONDS = 1.0
# Longer than an applier's claim delay: a dead applier's entries are picked up by then.
STALE_CALLBACK_SECONDS = 2 * status_stream.CLAIM_IDLE_MS / 1000


def _database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return "ok"


def _redis() -> str:
    redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1).ping()
    return "ok"


def _workers() -> str:
    replies = app.control.ping(timeout=WORKER_PING_SECONDS)
    if not replies:
        raise RuntimeError("no Celery worker answered")
    return f"ok ({len(replies)} answering)"


def _status_callbacks() -> str:
    backlog = status_stream.backlog()
    if backlog["oldest_seconds"] > STALE_CALLBACK_SECONDS:
        return (f"stalled: {backlog['entries']} status callbacks waiting, the oldest for"
                f" {backlog['oldest_seconds']:.0f} s: is `manage.py apply_status_callbacks` running?")
    return f"ok ({backlog['entries']} waiting)"


def _dialling() -> str:
    room = capacity.web_room()
    held = room.why_held()
    return f"held: {held}" if held else f"ok (room for {room.calls} calls on {room.processes} web processes)"


def _answer(check) -> str:
    try:
        return check()
    except Exception as error:  # any failure is the answer: report it, never raise
        return f"unreachable: {error.__class__.__name__}: {error}"


def _verdict(answer: str) -> str:
    return "ok" if answer.startswith("ok") else "failing"


@require_GET
def health(request):
    report = {name: _answer(check) for name, check in
              [("database", _database), ("redis", _redis), ("workers", _workers)]}
    healthy = all(answer.startswith("ok") for answer in report.values())
    report["status_callbacks"] = _answer(_status_callbacks)  # told, not counted (see above)
    report["dialling"] = _answer(_dialling)  # told, not counted: web processes come and go
    load = capacity.this_process()
    report["media_streams"] = (f"ok ({load.live} of {load.capacity} live)" if load.refusal() is None
                               else f"refusing: {load.refusal().text}")
    if not request.user.is_staff:
        report = {name: _verdict(answer) for name, answer in report.items()}
    # A draining process is shutting down: out of the load balancer, though all else is well.
    report["status"] = "draining" if load.draining else "ok" if healthy else "unhealthy"
    return JsonResponse(report, status=200 if healthy and not load.draining else 503)
