"""The process that stores Twilio's status callbacks: run one or more beside daphne."""

import signal
import threading

from django.core.management.base import BaseCommand

from calls.status_stream import Applier


class Command(BaseCommand):
    help = "Apply the status callbacks the webhook queued in Redis to the calls, in batches, until stopped."

    def handle(self, *args, **options):
        stopping = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stopping.set())
        applier = Applier()
        self.stdout.write(f"Applying status callbacks as {applier.name}")
        applier.run(stopping.is_set)
