"""A real Celery worker that kills itself with SIGKILL at one point of a dial.

Run by test_worker_crashes.py as `python -m tests.dialer.crashing_worker POINT QUEUE`:
  after-claim  — leads claimed and committed, the dial task never enqueued;
  before-dial  — the dial marked as requested, the REST request never sent;
  after-dial   — Twilio accepted the call, the CallSid never stored.
"""

import os
import signal
import sys

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dialer_site.settings")
django.setup()

from calls import tasks  # noqa: E402
from calls.dialer import placing  # noqa: E402
from dialer_site.celery import app  # noqa: E402


def die(*_args, **_kwargs):
    os.kill(os.getpid(), signal.SIGKILL)


class DyingCalls:
    def __init__(self, point, real_calls):
        self.point, self.real_calls = point, real_calls

    def create(self, **arguments):
        if self.point == "before-dial":
            die()
        self.real_calls.create(**arguments)
        die()


class DyingClient:
    def __init__(self, point, real_client):
        self.calls = DyingCalls(point, real_client.calls)


def main(point: str, queue: str) -> None:
    if point == "after-claim":
        tasks.place_call.delay = die
    else:
        real_client = placing.twilio_client
        placing.twilio_client = lambda *args: DyingClient(point, real_client(*args))
    app.worker_main(["worker", "--pool", "solo", "--queues", queue, "--loglevel", "WARNING",
                     "--without-heartbeat", "--without-mingle", "--without-gossip"])


if __name__ == "__main__":
    main(*sys.argv[1:])
