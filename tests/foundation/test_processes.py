"""`make run` keeps its processes up: one that dies is restarted, with a log line and a
backoff that doubles while it keeps dying, and the others keep running."""

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SUPERVISOR = """
import sys
from honcho.printer import Printer
from dialer_site.processes import RestartingManager

manager = RestartingManager(Printer(sys.stdout), first_backoff=0.2)
manager.add_process("fragile", "exec sleep 120")
manager.add_process("steady", "exec sleep 120")
manager.loop()
sys.exit(manager.returncode)
"""


class Output:
    """The supervisor's output, line by line, as it comes."""

    def __init__(self, stream):
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=lambda: [self.lines.put(line) for line in stream], daemon=True).start()

    def wait_for(self, pattern: str, timeout: float = 15) -> re.Match:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                match = re.search(pattern, self.lines.get(timeout=0.1))
            except queue.Empty:
                continue
            if match:
                return match
        raise AssertionError(f"no line matching {pattern!r}")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_process_that_dies_is_restarted_and_the_others_keep_running():
    supervisor = subprocess.Popen([sys.executable, "-u", "-c", SUPERVISOR], cwd=ROOT, text=True,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output = Output(supervisor.stdout)
    try:
        started = {}
        for _ in range(2):
            match = output.wait_for(r"(fragile|steady) started \(pid=(\d+)\)")
            started[match[1]] = int(match[2])

        os.kill(started["fragile"], signal.SIGKILL)
        output.wait_for(r"fragile exited \(rc=-9\); restarting it in 0.2 s")
        again = int(output.wait_for(r"fragile started \(pid=(\d+)\)")[1])
        assert again != started["fragile"] and alive(again)
        assert alive(started["steady"])  # untouched

        os.kill(again, signal.SIGKILL)  # dying young again: the wait doubles
        output.wait_for(r"fragile exited \(rc=-9\); restarting it in 0.4 s")
        last = int(output.wait_for(r"fragile started \(pid=(\d+)\)")[1])

        supervisor.send_signal(signal.SIGTERM)  # only a stop signal ends them all
        assert supervisor.wait(timeout=15) == 143
        assert not alive(last) and not alive(started["steady"])
    finally:
        supervisor.kill()
