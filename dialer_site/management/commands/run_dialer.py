"""Run the whole product on one machine (the README's run command): migrate, make sure
Redis answers, make sure there is a staff login, then run the Procfile's processes
(the web process, a Celery worker, Celery beat, the status-callback applier) together under
honcho until Ctrl-C; one that exits is restarted (dialer_site.processes). With
WEB_PROCESSES=N (more than 1) it runs N web processes behind nginx instead of one.

Without a real Twilio account configured it also runs the Twilio emulator, points the
product at it and seeds the demo campaign, so a newcomer can press Start and watch calls;
and a second demo campaign on the cloud voice stack, which talks to the real Deepgram,
OpenAI and Cartesia when their keys are set, and to the voice emulators otherwise."""

import json
import os
import secrets
import shlex
import shutil
import sys
from pathlib import Path

import redis
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from honcho.environ import parse_procfile
from honcho.printer import Printer

from botruntime.cloud import REQUIRED_KEYS
from campaigns.management.commands.seed_demo import DEMO_CALLER_ID, DEMO_CONTACTS
from dialer_site import local_proxy
from dialer_site.env import env_int, env_str
from dialer_site.processes import RestartingManager

PRIVATE_REDIS_PORT = 6389
TWILIO_API = "https://api.twilio.com"


class Command(BaseCommand):
    help = "Run the Procfile's processes together (the README's run command)."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=env_int("PORT", 8000))
        parser.add_argument("--host", default=env_str("DIALER_HOST", "127.0.0.1"))
        parser.add_argument("--emulator-port", type=int, default=env_int("EMULATOR_PORT", 8080))
        parser.add_argument("--voice-emulator-port", type=int,
                            default=env_int("VOICE_EMULATOR_PORT", 8090))
        parser.add_argument("--web-processes", type=int, default=env_int("WEB_PROCESSES", 1),
                            help="Web processes; more than one run behind nginx on --port.")

    def handle(self, *args, port, host, emulator_port, voice_emulator_port, web_processes, **options):
        if web_processes < 1:
            raise CommandError(f"WEB_PROCESSES={web_processes}: at least one web process is needed.")
        base_dir = Path(settings.BASE_DIR)
        run_dir = base_dir / ".run"
        run_dir.mkdir(exist_ok=True)
        # WEB_PROCESSES tells each web process how many share the host's cores (botruntime.asr).
        env = {**os.environ, "PORT": str(port), "DIALER_HOST": host, "WEB_PROCESSES": str(web_processes),
               "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
        manager = RestartingManager(Printer(sys.stdout))

        redis_url = self._ensure_redis(manager, run_dir)
        if redis_url:
            env["REDIS_URL"] = redis_url
        demo = not _real_twilio_configured()
        if demo:
            env |= self._start_emulator(manager, run_dir, env, host, port, emulator_port)
            env |= self._voice_services(manager, run_dir, env, voice_emulator_port)
        else:
            self.stdout.write(f"Using the real Twilio account {settings.TWILIO_ACCOUNT_SID} "
                              f"(calls go to real phones); Twilio reaches us at {settings.PUBLIC_BASE_URL}.")
        call_command("migrate", interactive=False, verbosity=0)
        login = self._ensure_staff_login()

        procfile = parse_procfile((base_dir / "Procfile").read_text())
        for name, process in procfile.processes.items():
            if name == "web" and web_processes > 1:
                self._behind_nginx(manager, process, env, run_dir, host, port, web_processes)
            else:
                manager.add_process(name, process, env=env, cwd=base_dir)

        url = f"http://{host}:{port}"
        if demo:
            campaign_id, cloud_id = self._seed_demo()
            call_in = (f"TWILIO_AUTH_TOKEN={env['TWILIO_AUTH_TOKEN']} {sys.executable} -m twilio_emulator "
                       f"call-in --emulator {env['TWILIO_API_BASE_URL']} "
                       f"--account-sid {env['TWILIO_ACCOUNT_SID']} "
                       f"--from {DEMO_CONTACTS[0][0]} --to {DEMO_CALLER_ID}")
            self.stdout.write(self.style.SUCCESS(
                f"\nDemo ready: open {url}/campaigns/{campaign_id}/ ({login}) and press Start; "
                f"calls go to the Twilio emulator ({env['TWILIO_API_BASE_URL']}/_emulator/).\n"
                f"Then call in as a returning customer: {call_in}\n"
                f"The same contacts on the cloud voice stack: {url}/campaigns/{cloud_id}/ "
                f"({self._cloud_services})\n"))
        else:
            self.stdout.write(self.style.SUCCESS(f"\nDialer is starting: open {url}/ — {login}\n"))
        manager.loop()
        sys.exit(manager.returncode)

    def _behind_nginx(self, manager: RestartingManager, web: str, env: dict, run_dir: Path, host: str,
                      port: int, count: int) -> None:
        """`count` web processes on the ports after `port`, and nginx on `port` in front of
        them (the same proxying rules as production's deploy/nginx.conf)."""
        if not shutil.which("nginx"):
            raise CommandError("WEB_PROCESSES > 1 runs the web processes behind nginx, which is not "
                               "installed: scripts/system-packages.sh --with-nginx (as root) installs it.")
        web_ports = [port + n for n in range(1, count + 1)]
        for n, web_port in enumerate(web_ports, start=1):
            own = {"PORT": str(web_port), "DIALER_HOST": "127.0.0.1"}  # nginx alone faces the network
            manager.add_process(f"web.{n}", web, env=env | own, cwd=settings.BASE_DIR)
        config = local_proxy.write_config(run_dir / "nginx", host, port,
                                          [f"127.0.0.1:{web_port}" for web_port in web_ports])
        manager.add_process("nginx", shlex.join(local_proxy.command(config)), env=env, cwd=settings.BASE_DIR)
        self.stdout.write(f"{count} web processes on ports {web_ports[0]}–{web_ports[-1]} behind nginx "
                          f"on {host}:{port}.")

    def _start_emulator(self, manager: RestartingManager, run_dir: Path, env: dict, host: str,
                        port: int, emulator_port: int) -> dict:
        """The emulator and the product share one generated account, kept across runs so
        the call-in command printed today still works tomorrow."""
        credentials_file = run_dir / "emulator-account.json"
        if not credentials_file.exists():
            credentials_file.write_text(json.dumps({
                "TWILIO_ACCOUNT_SID": "AC" + secrets.token_hex(16),
                "TWILIO_AUTH_TOKEN": secrets.token_hex(16),
            }))
            credentials_file.chmod(0o600)
        overrides = json.loads(credentials_file.read_text()) | {
            "TWILIO_API_BASE_URL": f"http://127.0.0.1:{emulator_port}",
            "PUBLIC_BASE_URL": f"http://{host}:{port}",
        }
        self.stdout.write("No Twilio account configured (TWILIO_ACCOUNT_SID/TWILIO_AUTH_TOKEN): "
                          f"running the Twilio emulator on port {emulator_port} instead.")
        command = [sys.executable, "-m", "twilio_emulator", "--port", str(emulator_port),
                   "--app-url", overrides["PUBLIC_BASE_URL"], "--data-dir", str(run_dir / "emulator")]
        manager.add_process("twilio", shlex.join(command), env=env | overrides, cwd=settings.BASE_DIR)
        return overrides

    def _voice_services(self, manager: RestartingManager, run_dir: Path, env: dict, port: int) -> dict:
        """The cloud stack's services: the configured ones when every key is set, else the
        voice emulators with a generated key both sides share (kept across runs)."""
        if all(getattr(settings, key) for key in REQUIRED_KEYS):
            self._cloud_services = "the real Deepgram, OpenAI and Cartesia: their keys are set"
            self.stdout.write("Cloud voice stack: using the real Deepgram, OpenAI and Cartesia "
                              "services (DEEPGRAM_API_KEY, OPENAI_API_KEY, CARTESIA_API_KEY are set); "
                              "their calls are billed to those accounts.")
            return {}
        key_file = run_dir / "voice-emulators.json"
        if not key_file.exists():
            key_file.write_text(json.dumps({"api_key": secrets.token_hex(16)}))
            key_file.chmod(0o600)
        key = json.loads(key_file.read_text())["api_key"]
        base_url = f"http://127.0.0.1:{port}"
        self._cloud_services = f"Deepgram, OpenAI and Cartesia emulated at {base_url}"
        self.stdout.write(f"No keys for the cloud voice stack ({', '.join(REQUIRED_KEYS)}): running "
                          f"the voice emulators on port {port} instead.")
        command = [sys.executable, "-m", "voice_emulators", "--port", str(port)]
        manager.add_process("voices", shlex.join(command), env=env | {"VOICE_EMULATORS_API_KEY": key},
                            cwd=settings.BASE_DIR)
        return {**dict.fromkeys(REQUIRED_KEYS, key), "DEEPGRAM_BASE_URL": base_url,
                "CARTESIA_BASE_URL": base_url, "OPENAI_BASE_URL": f"{base_url}/v1"}

    def _seed_demo(self) -> list[str]:
        from io import StringIO

        out = StringIO()
        call_command("seed_demo", "--cloud", stdout=out)
        return out.getvalue().split()

    def _ensure_redis(self, manager: RestartingManager, run_dir: Path) -> str | None:
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
            return (f"log in as '{existing.get_username()}'; forgot the password? "
                    f"manage.py changepassword {existing.get_username()}")
        password = secrets.token_urlsafe(12)
        users.create_superuser("admin", "admin@localhost", password)
        return f"log in as 'admin' with password {password} — shown once, change it in the admin"


def _real_twilio_configured() -> bool:
    """Real credentials, aimed at Twilio itself (not at an emulator somewhere)."""
    return bool(settings.TWILIO_ACCOUNT_SID and settings.TWILIO_AUTH_TOKEN) and (
        settings.TWILIO_API_BASE_URL == TWILIO_API
    )
