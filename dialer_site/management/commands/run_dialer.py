"""Run the whole product on one machine: migrate, make sure Redis answers, make sure
there is a staff login, then run the Procfile's processes (daphne, a Celery worker,
Celery beat) together under honcho until Ctrl-C."""

import os
import secrets
import shutil
import sys
from pathlib import Path

import redis
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from honcho.environ import parse_procfile
from honcho.manager import Manager
from honcho.printer import Printer

PRIVATE_REDIS_PORT = 6389


class Command(BaseCommand):
    help = "Run daphne, a Celery worker and Celery beat together (the README's run command)."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", 8000)))
        parser.add_argument("--host", default=os.environ.get("DIALER_HOST", "127.0.0.1"))

    def handle(self, *args, port, host, **options):
        run_dir = Path(settings.BASE_DIR) / ".run"
        run_dir.mkdir(exist_ok=True)
        env = {**os.environ, "PORT": str(port), "DIALER_HOST": host,
               "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
        manager = Manager(Printer(sys.stdout))

        redis_url = self._ensure_redis(manager, run_dir)
        if redis_url:
            env["REDIS_URL"] = redis_url
        call_command("migrate", interactive=False, verbosity=0)
        login = self._ensure_staff_login()

        procfile = parse_procfile((Path(settings.BASE_DIR) / "Procfile").read_text())
        for name, process in procfile.processes.items():
            manager.add_process(name, process, env=env, cwd=settings.BASE_DIR)

        self.stdout.write(self.style.SUCCESS(f"\nDialer is starting: open http://{host}:{port}/ — {login}\n"))
        manager.loop()
        sys.exit(manager.returncode)

    def _ensure_redis(self, manager: Manager, run_dir: Path) -> str | None:
        """Use REDIS_URL if it answers; otherwise run a private redis-server next to us."""
        try:
            redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1).ping()
            return None
        except redis.RedisError:
            pass
        if not shutil.which("redis-server"):
            raise CommandError(
                f"Redis does not answer at {settings.REDIS_URL} and redis-server is not installed. "
                "Install it (Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install "
                "redis) or set REDIS_URL to a Redis you run."
            )
        self.stdout.write(f"Redis does not answer at {settings.REDIS_URL}: starting a private one.")
        manager.add_process(
            "redis",
            f"redis-server --port {PRIVATE_REDIS_PORT} --bind 127.0.0.1 --save '' --appendonly no "
            f"--dir {run_dir}",
        )
        return f"redis://127.0.0.1:{PRIVATE_REDIS_PORT}/0"

    def _ensure_staff_login(self) -> str:
        """There is always someone who can log in; a new password is printed once, never fixed."""
        users = get_user_model().objects
        existing = users.filter(is_superuser=True, is_active=True).order_by("id").first()
        if existing:
            return (f"log in as '{existing.get_username()}' "
                    f"(forgot the password? manage.py changepassword {existing.get_username()})")
        password = secrets.token_urlsafe(12)
        users.create_superuser("admin", "admin@localhost", password)
        return f"log in as 'admin' with password {password} (shown once; change it in the admin)"
