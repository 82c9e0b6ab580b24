"""The newcomer's first five minutes, for real: the README's run command in a clean copy of
the project (its own fresh virtualenv, no .env, no Twilio account, SQLite), then the demo
campaign started through the web interface, calls placed through the Twilio emulator, a
conversation transcribed, a returning customer recognised — and everything stopped."""

import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import threading
import time
import uuid
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
INSTALL_AND_START_SECONDS = 900  # a fresh virtualenv downloads every requirement
CALLS_SECONDS = 240


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def copy_project(target: Path) -> None:
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
                            cwd=ROOT, capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


class Product:
    def __init__(self, directory: Path, port: int, emulator_port: int):
        env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root"), "LANG": "C.UTF-8",
               "PORT": str(port), "EMULATOR_PORT": str(emulator_port),
               "VOICE_EMULATOR_PORT": str(free_port()),
               # Its own Redis database and queue, so it never meets another run's tasks.
               "REDIS_URL": os.environ["REDIS_URL"].rsplit("/", 1)[0] + "/8",
               "CELERY_QUEUE": f"demo-{uuid.uuid4().hex[:8]}"}
        self.process = subprocess.Popen(["make", "run"], cwd=directory, env=env, text=True,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.process.stdout:
            self.lines.append(line)

    def wait_for_line(self, pattern: str, timeout: float) -> re.Match:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if match := re.search(pattern, line):
                    return match
            assert self.process.poll() is None, "the run command exited:\n" + "".join(self.lines[-60:])
            time.sleep(0.5)
        raise AssertionError(f"no line matching {pattern!r}:\n" + "".join(self.lines[-60:]))

    def stop(self) -> int:
        os.killpg(self.process.pid, signal.SIGINT)
        try:
            return self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            raise


def log_in(base: str, password: str) -> requests.Session:
    session = requests.Session()
    page = session.get(f"{base}/accounts/login/", timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    session.post(f"{base}/accounts/login/", timeout=10, headers={"Referer": f"{base}/accounts/login/"},
                 data={"username": "admin", "password": password, "csrfmiddlewaretoken": token})
    return session


def post_form(session: requests.Session, page_url: str, action: str) -> requests.Response:
    page = session.get(page_url, timeout=10)
    assert page.status_code == 200, page.status_code
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    return session.post(action, data={"csrfmiddlewaretoken": token}, headers={"Referer": page_url},
                        timeout=30)


def query(database: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10) as connection:
        return connection.execute(sql).fetchall()


def wait_for_rows(database: Path, sql: str, timeout: float) -> list[tuple]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if rows := query(database, sql):
                return rows
        except sqlite3.OperationalError:
            pass  # a writer holds the database for a moment
        time.sleep(1)
    raise AssertionError(f"nothing for: {sql}")


def test_the_readme_run_command_gives_a_working_offline_demo(tmp_path):
    directory = tmp_path / "dialer"
    copy_project(directory)
    port, emulator_port = free_port(), free_port()
    base = f"http://127.0.0.1:{port}"
    product = Product(directory, port, emulator_port)
    try:
        ready = product.wait_for_line(r"Demo ready: open (\S+) \(log in as 'admin' with password (\S+) ",
                                      INSTALL_AND_START_SECONDS)
        campaign_url, password = ready.group(1), ready.group(2)
        call_in = product.wait_for_line(r"call in as a returning customer: (.+)$", 5).group(1)
        cloud_url = product.wait_for_line(
            r"The same contacts on the cloud voice stack: (\S+) \(Deepgram, OpenAI and Cartesia "
            r"emulated at ", 5).group(1)
        product.wait_for_line(r"Listening on TCP address", 120)

        session = log_in(base, password)
        started = post_form(session, campaign_url, campaign_url + "start/")
        assert "Campaign is now running" in started.text

        database = directory / "db.sqlite3"
        conversations = wait_for_rows(database, """
            SELECT c.id, c.to_number, COUNT(t.id) FROM calls_call c
            JOIN calls_transcriptline t ON t.call_id = c.id
            WHERE c.status = 'completed' AND c.direction = 'outbound'
            GROUP BY c.id HAVING COUNT(t.id) >= 2""", CALLS_SECONDS)
        assert conversations
        board = session.get(campaign_url, timeout=10)
        assert board.status_code == 200 and "Summer sale" in board.text
        cloud_board = session.get(cloud_url, timeout=10)
        assert cloud_board.status_code == 200 and "Summer sale on the cloud stack" in cloud_board.text

        # The person who missed the call rings back and reaches the same campaign's bot.
        # Exactly the command the console printed for the newcomer to paste.
        called = subprocess.run(["bash", "-c", call_in], cwd=directory, timeout=180, capture_output=True,
                                text=True)
        assert called.returncode == 0, called.stdout + called.stderr
        assert '"status": "completed"' in called.stdout
        inbound = wait_for_rows(database, """
            SELECT cu.first_name, ca.slug FROM calls_call c
            JOIN campaigns_customer cu ON cu.id = c.customer_id
            JOIN campaigns_campaign ca ON ca.id = c.campaign_id
            WHERE c.direction = 'inbound'""", 60)
        assert inbound[0] == ("Ann", "summer_sale")
    finally:
        code = product.stop()
    assert code is not None
    with socket.socket() as sock:  # everything stopped: the port is free again
        assert sock.connect_ex(("127.0.0.1", port)) != 0
