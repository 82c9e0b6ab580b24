"""The speech worker pool does not outlive the process that made it."""

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MAKES_A_POOL = """
import time
from botruntime import asr
asr.pool(2)
asr.warm_up()
print("ready", flush=True)
time.sleep(120)
"""


def test_a_killed_process_leaves_no_worker_holding_its_output_open():
    # make run's manager learns that a process died when its output pipe closes.
    process = subprocess.Popen([sys.executable, "-c", MAKES_A_POOL], cwd=ROOT, stdout=subprocess.PIPE,
                               env=os.environ | {"DJANGO_SETTINGS_MODULE": "dialer_site.settings"})
    try:
        assert process.stdout.readline() == b"ready\n"
        process.send_signal(signal.SIGKILL)
        closed = threading.Event()
        threading.Thread(target=lambda: (process.stdout.read(), closed.set()), daemon=True).start()
        assert closed.wait(timeout=20), "a speech worker still holds the killed process's stdout"
    finally:
        process.kill()
        process.wait()
