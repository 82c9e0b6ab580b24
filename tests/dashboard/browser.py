"""Reusable pieces for browser tests: a real daphne serving the test database, and headless
Debian Chromium through Playwright. The end-to-end flow (upload, start, emulator) uses them too."""

import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import connection, transaction

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-output" / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


# What the campaign page shows, read from the DOM by each section's heading, so the reader
# works on any version of the page.
READ_CAMPAIGN_PAGE = """() => {
    const card = (title) => [...document.querySelectorAll('section.card')]
        .find((s) => s.querySelector('h2')?.textContent.trim().startsWith(title));
    const visible = (node) => !!node && !node.hidden && node.offsetParent !== null;
    const rows = (section) => [...section.querySelectorAll('tbody tr')]
        .filter((tr) => !tr.querySelector('td.empty'))
        .map((tr) => [...tr.cells].map((td) => {
            const time = td.querySelector('time[datetime]');
            return time ? time.getAttribute('datetime') : td.textContent.trim().replace(/\\s+/g, ' ');
        }));
    const outcomes = card('Outcomes'), hourly = card('Calls and answers per hour');
    return {
        progress: document.querySelector('.stats [data-summary=progress]').textContent.trim(),
        chips: [...document.querySelectorAll('.stats [data-summary=outcomes] .chip')]
            .map((c) => c.textContent.trim()),
        outcomesEmpty: visible(outcomes.querySelector('.empty')),
        outcomesSummary: outcomes.querySelector('[data-chart-summary]')?.textContent.trim() || '',
        outcomesDrawn: !!outcomes.querySelector('canvas'),
        hourlyEmpty: visible(hourly.querySelector('.empty')),
        hourlySummary: hourly.querySelector('[data-chart-summary]')?.textContent.trim() || '',
        hourlyDrawn: !!hourly.querySelector('canvas'),
        recent: rows(card('Recent calls')),
        leads: rows(card('Leads')),
    };
}"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_database_url() -> str:
    """The database pytest-django made for this run, as a URL for a child process."""
    db = settings.DATABASES["default"]
    auth = quote(db["USER"] or "") + (f":{quote(db['PASSWORD'])}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"daphne exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listens on port {port}")


class Daphne:
    """A web process (`manage.py serve_web`: daphne serving dialer_site.asgi, publishing its
    capacity as the dispatcher needs) against the test database; stop() and start() again on
    the same port to test reconnecting pages. `env` adds to (or overrides) the environment,
    e.g. the Twilio emulator's account and URL; the port is known before start() for that."""

    def __init__(self, media_root: Path, port: int | None = None, log: Path | None = None,
                 env: dict[str, str] | None = None):
        self.port = port or free_port()
        self.media_root = media_root
        self.log = log or ROOT / "test-output" / "daphne.log"
        self.env = dict(env or {})
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = os.environ | {"DATABASE_URL": test_database_url(),
                            "MEDIA_ROOT": str(self.media_root)} | self.env
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "manage.py", "serve_web", "--port", str(self.port)],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            )
        wait_for_port(self.port, self.process)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # at once (SIGTERM would drain live calls)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@contextmanager
def chromium(*args: str):
    """A headless Debian Chromium (with `args` added to its command line); Playwright's own
    browsers cannot be downloaded here."""
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread; the test's ORM calls are still
    # plain synchronous code between page actions.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *args], headless=True)
        try:
            yield browser
        finally:
            browser.close()


def log_in(page, base_url: str, username: str, password: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}/campaigns/")


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def committed(fn):
    """Run fn in a transaction, so its publish_* calls go out after the commit, like the app's.
    It runs on a thread of its own: Playwright's event loop owns this one, and Django
    refuses database work inside a running event loop."""

    def run():
        try:
            with transaction.atomic():
                return fn()
        finally:
            connection.close()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(run).result()
