"""The System page: the web processes with their load and capacity, the Celery workers and
the status-callback backlog, refreshed every few seconds while it is open.

Each web process publishes its own load to Redis (calls.capacity), so any process serves the
whole picture; the workers are asked over Celery's broadcast (as /health/ does)."""

import redis
from django.conf import settings
from django.shortcuts import render

from calls import capacity, status_stream
from common.access import staff_required
from dialer_site.celery import app

WORKER_REPLY_SECONDS = 0.5
REFRESH_SECONDS = 3


def _workers() -> list[dict]:
    replies = app.control.inspect(timeout=WORKER_REPLY_SECONDS).stats() or {}
    return [{"name": name, "concurrency": stats.get("pool", {}).get("max-concurrency"),
             "tasks": sum(stats.get("total", {}).values()), "pid": stats.get("pid")}
            for name, stats in sorted(replies.items())]


def _context() -> dict:
    try:
        processes = capacity.live_processes()
        backlog = status_stream.backlog()
        problem = ""
    except redis.RedisError as error:
        processes, backlog = [], None
        problem = f"Redis at {settings.REDIS_URL} does not answer ({error.__class__.__name__})."
    return {
        "processes": processes,
        "capacity": sum(p.capacity for p in processes if not p.draining),
        "live": sum(p.live for p in processes),
        "free": sum(p.free for p in processes),
        "workers": _workers(),
        "backlog": backlog,
        "problem": problem,
        "refresh_seconds": REFRESH_SECONDS,
    }


@staff_required
def system(request):
    return render(request, "system/system.html", _context())


@staff_required
def system_status(request):
    """The page's live part alone, fetched every REFRESH_SECONDS by the page."""
    return render(request, "system/_status.html", _context())
