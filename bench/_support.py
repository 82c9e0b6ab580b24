"""Shared by the benches: a throwaway PostgreSQL database, the environment Django reads, and
percentiles. Benches never touch the project's own databases or Redis DBs."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SERVER = "postgres://postgres@127.0.0.1:5432"
BENCH_REDIS_URL = "redis://127.0.0.1:6379/14"  # DB 14 is the benches'; tests use 15
PROTECTED = {"", "postgres", "test", "dialer", "template0", "template1"}


def database_url(name: str) -> str:
    return f"{SERVER}/{name}"


def _admin(statement: str) -> None:
    import psycopg

    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        conn.execute(statement)


def create_database(name: str) -> str:
    """A fresh, empty database (an older one of the same name is dropped first)."""
    if name in PROTECTED:
        sys.exit(f"Refusing to use database {name!r} for a benchmark; name a dedicated one.")
    drop_database(name)
    _admin(f'CREATE DATABASE "{name}"')
    return database_url(name)


def drop_database(name: str) -> None:
    if name in PROTECTED:
        sys.exit(f"Refusing to drop database {name!r}.")
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def bench_environment(database: str, **extra: str) -> dict[str, str]:
    """What Django's settings read, for a bench (and for a server a bench starts)."""
    return {
        "DATABASE_URL": database, "REDIS_URL": BENCH_REDIS_URL, "READ_DOTENV": "false",
        "DEBUG": "false", "SECRET_KEY": "bench-only-secret-key-not-for-production-0123456789",
        "TWILIO_AUTH_TOKEN": "bench-auth-token", "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
        "TWILIO_API_BASE_URL": "http://127.0.0.1:9", "PUBLIC_BASE_URL": "https://dialer.example.com",
        "ALLOWED_HOSTS": "testserver,127.0.0.1,localhost", "SECURE_SSL_REDIRECT": "false",
        "SESSION_COOKIE_SECURE": "false", "CSRF_COOKIE_SECURE": "false", "LOG_LEVEL": "WARNING",
        "LOG_FORMAT": "text", "CELERY_QUEUE": f"dialer-bench-{os.getpid()}",
        **extra,
    }


def setup_django(database: str, settings_module: str = "dialer_site.settings", **extra: str) -> None:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    os.environ.update(bench_environment(database, **extra))
    os.environ["DJANGO_SETTINGS_MODULE"] = settings_module
    import django

    django.setup()


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0–100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU (s) a process has used so far; 0 for one that is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS_PER_SECOND  # utime, stime: stat's 14th, 15th


def process_tree_cpu(pid: int) -> float:
    """cpu_seconds of a process and its live descendants."""
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        total += cpu_seconds(current)
        try:
            for task in Path(f"/proc/{current}/task").iterdir():
                todo.extend(int(child) for child in (task / "children").read_text().split())
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total
