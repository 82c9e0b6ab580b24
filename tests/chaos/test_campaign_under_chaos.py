"""The Proof of issue 13: a campaign of 60 leads runs through the Twilio emulator while the
product's processes die under it — the Celery worker killed -9 three times, the status-callback
applier, daphne with calls in progress, and Redis (restarted empty). Then the emulator's record
of every call is compared with the database: no number dialled more often than its lead's
attempts, no lead left in a live state, every call's final status and duration as Twilio has
them, and no live row whose Twilio call has ended. The counts are printed.

Everything runs on loopback: a private redis-server on a free port, daphne, a worker, beat and
the applier as real processes on the test database, the emulator in this process. The
reaper's timings are shortened (settings read from the environment) so the whole run
converges in about two minutes."""

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import redis

from calls.models import Call
from campaigns import lifecycle
from campaigns.models import Campaign, Lead
from tests.botruntime import conftest as bot_world
from tests.dialer.conftest import make_campaign
from tests.waiting import wait_until
from twilio_emulator import EmulatorThread, Scenario, Timing

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[2]
ACCOUNT_SID = "AC" + "c4" * 16
AUTH_TOKEN = "chaos-test-auth-token"
LEADS = 60
# Answered calls hang up after a few seconds of the bot's greeting; some numbers are busy,
# never answer or cannot be reached, so retries are in the mix too.
SCENARIO = {
    "defaults": {"ring": 0.3, "first_turn_timeout": 1, "turn_silence": 0.5},
    "callees": [
        {"pattern": "4$", "behaviour": "busy", "ring": 0.5},
        {"pattern": "5$", "behaviour": "no-answer"},
        {"pattern": "8$", "behaviour": "failed"},
    ],
    "fallback": {"behaviour": "answer", "script": [{"hangup_after": 4}]},
}
FAST_CONVERGENCE = {"REAPER_INTERVAL_SECONDS": "2", "RECONCILE_MARGIN_SECONDS": "3",
                    "DIAL_GRACE_SECONDS": "6"}
CONVERGED_WITHIN = 150  # seconds after the last kill


class Processes:
    """The product's processes, each restarted by `revive` once it is gone (as `make run`'s
    supervisor would), with a log each under tmp_path."""

    def __init__(self, env: dict, logs: Path):
        self.env, self.logs, self.running = env, logs, {}
        self.commands = {
            # The web process as deployed: it publishes its room, without which nothing is dialled.
            "daphne": [sys.executable, "manage.py", "serve_web", "--port", env["PORT"]],
            "worker": [sys.executable, "-m", "celery", "--app", "dialer_site", "worker", "--pool", "threads",
                       "--concurrency", "4", "--queues", env["CELERY_QUEUE"], "--loglevel", "INFO",
                       "--without-mingle", "--without-gossip"],
            "beat": [sys.executable, "-m", "celery", "--app", "dialer_site", "beat", "--loglevel", "INFO",
                     "--schedule", str(logs / "celerybeat-schedule")],
            "applier": [sys.executable, "manage.py", "apply_status_callbacks"],
        }

    def start(self, name: str) -> None:
        with open(self.logs / f"{name}.log", "a") as log:
            self.running[name] = subprocess.Popen(self.commands[name], cwd=ROOT, env=self.env, stdout=log,
                                                  stderr=subprocess.STDOUT)

    def kill(self, name: str) -> None:
        self.running[name].send_signal(signal.SIGKILL)
        self.running[name].wait(timeout=10)

    def revive(self) -> None:
        for name, process in self.running.items():
            if process.poll() is not None:
                self.start(name)

    def stop(self) -> None:
        for process in self.running.values():
            process.terminate()
        for process in self.running.values():
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


class PrivateRedis:
    def __init__(self, logs: Path):
        self.port, self.logs, self.process = bot_world.free_port(), logs, None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.logs)], stdout=subprocess.DEVNULL)
        wait_until(lambda: _pings(self.url), timeout=10)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)


def _pings(url: str) -> bool:
    try:
        return redis.Redis.from_url(url, socket_connect_timeout=0.5).ping()
    except redis.RedisError:
        return False


@pytest.fixture
def chaos_world(tmp_path, django_db_setup):
    private_redis = PrivateRedis(tmp_path)
    private_redis.start()
    port = bot_world.free_port()
    base_url = f"http://127.0.0.1:{port}"
    emulator = EmulatorThread(ACCOUNT_SID, AUTH_TOKEN, app_url=base_url, scenario=Scenario.load(SCENARIO),
                              cps=0, data_dir=tmp_path / "emulator",
                              timing=Timing(http_timeout=5, ws_handshake_timeout=3, hangup_wait_seconds=1))
    emulator.start()
    env = {**os.environ, **FAST_CONVERGENCE, "PORT": str(port), "DATABASE_URL": bot_world.test_database_url(),
           "REDIS_URL": private_redis.url, "PUBLIC_BASE_URL": base_url, "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
           "TWILIO_AUTH_TOKEN": AUTH_TOKEN, "TWILIO_API_BASE_URL": emulator.base_url,
           "TWILIO_CALLS_PER_SECOND": "10", "MEDIA_ROOT": str(tmp_path / "media"), "BOT_ASR_WORKERS": "1",
           # The conversation is not under test: light stand-ins for speech and language.
           "BOT_SERVICES": "standin", "BOT_TURN_DETECTION": "silence", "LOG_LEVEL": "INFO"}
    processes = Processes(env, tmp_path)
    for name in processes.commands:
        processes.start(name)
    bot_world.wait_for_port(port, processes.running["daphne"], timeout=60)
    try:
        yield processes, private_redis, emulator
    finally:
        processes.stop()
        emulator.stop()
        private_redis.kill()


def numbers() -> list[str]:
    # Mostly people who answer; every tenth busy, never answering or unreachable.
    endings = {3: "4", 6: "5", 9: "8"}
    return [f"+1202555{index:03d}{endings.get(index % 10, '1')}" for index in range(LEADS)]


def test_a_campaign_killed_again_and_again_still_accounts_for_every_call(chaos_world):
    processes, private_redis, emulator = chaos_world
    campaign = make_campaign(numbers(), max_attempts=2, max_concurrent_calls=8, ring_timeout_seconds=2,
                             retry_delays_minutes=[0.02])
    lifecycle.start(campaign)

    def live_calls() -> int:
        return Call.objects.filter(status__in=Call.LIVE_STATUSES).count()

    def calls_are_live() -> bool:
        # Or, on a machine fast enough to finish the campaign first, the rest of the kills
        # still happen (and convergence is still checked).
        finished = Campaign.objects.filter(pk=campaign.pk, status=Campaign.Status.COMPLETED)
        return live_calls() > 0 or finished.exists()

    def kill_when_calls_are_live(name: str, restart_after: float = 0.5) -> None:
        wait_until(calls_are_live, timeout=60)
        processes.kill(name)
        time.sleep(restart_after)
        processes.revive()

    kill_when_calls_are_live("worker")
    time.sleep(4)
    kill_when_calls_are_live("applier")
    time.sleep(4)
    kill_when_calls_are_live("daphne", restart_after=6)  # calls in progress lose their streams
    bot_world.wait_for_port(int(processes.env["PORT"]), processes.running["daphne"], timeout=60)
    kill_when_calls_are_live("worker")
    time.sleep(4)
    wait_until(calls_are_live, timeout=60)
    private_redis.kill()  # broker, results, Channels layer and callback stream, all lost
    time.sleep(1)
    private_redis.start()
    processes.revive()
    time.sleep(4)
    kill_when_calls_are_live("worker")

    def converged() -> bool:
        processes.revive()  # whatever died of the Redis restart comes back, as under `make run`
        campaign.refresh_from_db()
        twilio_busy = any(call["status"] not in Call.FINAL_STATUSES for call in emulator.calls())
        return campaign.status == Campaign.Status.COMPLETED and not twilio_busy and live_calls() == 0

    wait_until(converged, timeout=CONVERGED_WITHIN, interval=1)

    twilio_calls = emulator.calls()
    leads = {lead.customer.phone: lead for lead in Lead.objects.select_related("customer")}
    rows = {call.call_sid: call for call in Call.objects.exclude(call_sid=None)}
    dialled = Counter(call["to"] for call in twilio_calls)
    over_dialled = [number for number, times in dialled.items() if times > leads[number].attempts]
    stuck = [lead for lead in leads.values() if lead.state in (Lead.State.DIALING, Lead.State.IN_CALL)]
    mismatched = [call["sid"] for call in twilio_calls if call["sid"] not in rows
                  or (rows[call["sid"]].status, rows[call["sid"]].duration_seconds)
                  != (call["status"], int(call["duration"]))]
    ended_but_live = [sid for sid, row in rows.items() if row.is_live]
    print(f"\nchaos: {len(twilio_calls)} calls placed for {len(leads)} leads; numbers dialled more often "
          f"than their lead's attempts: {len(over_dialled)}; leads stuck live: {len(stuck)}; calls whose "
          f"final status or duration differ from Twilio's: {len(mismatched)}; live rows whose Twilio call "
          f"has ended: {len(ended_but_live)}")
    assert len(leads) == LEADS and len(twilio_calls) >= LEADS
    assert over_dialled == [] and stuck == [] and mismatched == [] and ended_but_live == []
