"""GET /health/: can this process reach the database, Redis and at least one Celery
worker? 200 when all answer, 503 naming what does not — for load balancers and monitors.
It reveals nothing beyond reachability, so it needs no login."""

import redis
from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.http import require_GET

from dialer_site.celery import app

WORKER_PING_SECONDS = 1.0


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


@require_GET
def health(request):
    report, healthy = {}, True
    for name, check in [("database", _database), ("redis", _redis), ("workers", _workers)]:
        try:
            report[name] = check()
        except Exception as error:  # any failure is the answer: report it, never raise
            report[name] = f"unreachable: {error.__class__.__name__}: {error}"
            healthy = False
    report["status"] = "ok" if healthy else "unhealthy"
    return JsonResponse(report, status=200 if healthy else 503)
