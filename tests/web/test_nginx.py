"""Two web processes behind the real nginx, configured as `make run` configures it with
WEB_PROCESSES=2 (the proxying rules are deploy/nginx-proxy.conf, as in production): a media
stream refused by the full process lands on the other."""

import asyncio
import subprocess

import pytest
import websockets
from twilio.request_validator import RequestValidator

from dialer_site import local_proxy
from tests.botruntime.conftest import free_port, wait_for_port
from tests.waiting import wait_until
from tests.web.conftest import AUTH_TOKEN
from tests.web.test_admission import beat_of, live_streams

pytestmark = pytest.mark.django_db(transaction=True)  # nginx: scripts/system-packages.sh --with-nginx


@pytest.fixture
def nginx(tmp_path):
    port = free_port()
    started = []

    def start(web_ports: list[int]):
        config = local_proxy.write_config(tmp_path / "nginx", "127.0.0.1", port,
                                          [f"127.0.0.1:{web_port}" for web_port in web_ports])
        process = subprocess.Popen(local_proxy.command(config), stdout=subprocess.DEVNULL,
                                   stderr=(tmp_path / "nginx.err").open("w"))
        started.append(process)
        wait_for_port(port, process)
        process.access_log = config.parent / "access.log"
        return process

    start.url = f"http://127.0.0.1:{port}"
    yield start
    for process in started:
        process.terminate()
        process.wait(timeout=10)


async def hold_streams(urls: list[str], signature: str, then):
    """Open each stream in turn and keep it open; `then` runs while they all are. Returns the
    HTTP status each upgrade got (101: accepted)."""
    statuses, open_sockets = [], []
    try:
        for url in urls:
            try:
                socket = await websockets.connect(url, additional_headers={"X-Twilio-Signature": signature},
                                                  open_timeout=10)
                open_sockets.append(socket)
                statuses.append(101)
            except websockets.exceptions.InvalidStatus as refused:
                statuses.append(refused.response.status_code)
        await asyncio.to_thread(then)
    finally:
        for socket in open_sockets:
            await socket.close()
    return statuses


def test_a_stream_refused_by_a_full_process_lands_on_the_other(web_process, nginx):
    public = nginx.url  # Twilio signs the proxy's address; both processes check against it
    small = web_process(MEDIA_STREAMS_PER_PROCESS="1", PUBLIC_BASE_URL=public)
    large = web_process(MEDIA_STREAMS_PER_PROCESS="2", PUBLIC_BASE_URL=public)
    proxy = nginx([int(small.base_url.rsplit(":", 1)[1]), int(large.base_url.rsplit(":", 1)[1])])
    via_proxy = public.replace("http://", "ws://") + "/twilio/stream/"
    signature = RequestValidator(AUTH_TOKEN).compute_signature(via_proxy, {})
    seen = {}

    def look():
        wait_until(lambda: live_streams(small) == 1 and live_streams(large) == 2, timeout=10)
        seen["small"], seen["large"] = beat_of(small).live, beat_of(large).live

    # The small process is filled past the proxy; then three streams through it, held open.
    statuses = asyncio.run(hold_streams(
        [small.stream_url, via_proxy, via_proxy, via_proxy], signature, look))

    # The fourth finds both full: nginx, having had 503 from every process, has none left to
    # try and answers 502 itself. Twilio gets an error either way, and no process took it.
    assert statuses == [101, 101, 101, 502]
    assert seen == {"small": 1, "large": 2}
    small_address, large_address = (web.base_url.removeprefix("http://") for web in (small, large))
    retried = f"upstream={small_address}, {large_address} (503, 101)"
    assert retried in proxy.access_log.read_text()  # nginx asked the full one, then the other
    assert "Refused a media stream: this process is full" in small.log()


class Recorder:
    def __init__(self):
        self.processes = {}

    def add_process(self, name, command, env=None, cwd=None):
        self.processes[name] = (command, env["PORT"])


def test_make_run_with_several_web_processes_puts_them_behind_a_valid_nginx_config(tmp_path):
    from dialer_site.management.commands.run_dialer import Command

    manager = Recorder()
    Command()._behind_nginx(manager, "python manage.py serve_web --port ${PORT}", {"PORT": "8000"},
                            tmp_path, "127.0.0.1", 8000, 3)

    assert {name: port for name, (_, port) in manager.processes.items()} == {
        "web.1": "8001", "web.2": "8002", "web.3": "8003", "nginx": "8000"}
    config = (tmp_path / "nginx" / "nginx.conf").read_text()
    assert "server 127.0.0.1:8003;" in config and "listen 127.0.0.1:8000;" in config
    assert "deploy/nginx-proxy.conf" in config  # production's proxying rules, as they are
    checked = subprocess.run([*local_proxy.command(tmp_path / "nginx" / "nginx.conf"), "-t"],
                             capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
