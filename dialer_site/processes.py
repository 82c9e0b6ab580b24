"""`make run`'s processes kept running: honcho's Manager, except that a process which exits
is started again (with a log line, after a backoff) while the others go on; only Ctrl-C or
SIGTERM stops them all.

honcho runs the Procfile and prints each process's output, but stops everything when one
process ends, and has no restart option. Circus and supervisord restart processes but would
replace honcho altogether (their own configuration, daemon and output format, and for Circus
ZeroMQ and Tornado), so this subclass adds only the restart to the loop honcho already runs."""

import contextlib
import datetime
import multiprocessing
import queue
import signal

from honcho.manager import KILL_WAIT, SIGNALS, Manager

FIRST_BACKOFF_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 30.0
# A process that ran this long before it exited was healthy: its next restart waits the least.
STABLE_SECONDS = 60.0


class RestartingManager(Manager):
    def __init__(self, *args, first_backoff: float = FIRST_BACKOFF_SECONDS,
                 max_backoff: float = MAX_BACKOFF_SECONDS, **kwargs):
        super().__init__(*args, **kwargs)
        self.first_backoff, self.max_backoff = first_backoff, max_backoff
        self._backoff: dict[str, float] = {}
        self._started_at: dict[str, datetime.datetime] = {}
        self._restart_at: dict[str, datetime.datetime] = {}

    def loop(self):
        def _terminate(signum, frame):
            self._system_print(f"{SIGNALS[signum]['name']} received\n")
            self.returncode = SIGNALS[signum]["rc"]
            self._restart_at.clear()
            self.terminate()

        signal.signal(signal.SIGTERM, _terminate)
        signal.signal(signal.SIGINT, _terminate)
        self._start()
        terminating_since = None
        while True:
            with contextlib.suppress(queue.Empty):
                self._handle(self.events.get(timeout=0.1))
            now = self._clock.now()
            for name, due in list(self._restart_at.items()):
                if now >= due:
                    del self._restart_at[name]
                    self._start_one(name)
            if self._terminating:
                terminating_since = terminating_since or now
                if self._all_stopped():
                    return
                if now - terminating_since > datetime.timedelta(seconds=KILL_WAIT):
                    self.kill()

    def _handle(self, msg) -> None:
        if msg.type == "line":
            self._printer.write(msg)
        elif msg.type == "start":
            self._processes[msg.name]["pid"] = msg.data["pid"]
            self._started_at[msg.name] = msg.time
            self._system_print(f"{msg.name} started (pid={msg.data['pid']})\n")
            if self._terminating:  # restarted just as everything was told to stop
                self._procmgr.terminate(msg.data["pid"])
        elif msg.type == "stop":
            self._processes[msg.name]["returncode"] = msg.data["returncode"]
            if self._terminating:
                self._system_print(f"{msg.name} stopped (rc={msg.data['returncode']})\n")
                return
            backoff = self._next_backoff(msg.name, msg.time)
            self._restart_at[msg.name] = msg.time + datetime.timedelta(seconds=backoff)
            self._system_print(f"{msg.name} exited (rc={msg.data['returncode']}); "
                               f"restarting it in {backoff:g} s\n")

    def _killall(self, force=False):
        # A process being restarted has no pid yet: it is stopped as soon as it reports one.
        signal_name, send = ("SIGKILL", self._procmgr.kill) if force else ("SIGTERM", self._procmgr.terminate)
        for name, process in self._processes.items():
            if "returncode" not in process and "pid" in process:
                self._system_print(f"sending {signal_name} to {name} (pid {process['pid']})\n")
                send(process["pid"])

    def _next_backoff(self, name: str, stopped_at: datetime.datetime) -> float:
        """Doubling while a process keeps dying young, back to the first after a stable run."""
        ran = (stopped_at - self._started_at.get(name, stopped_at)).total_seconds()
        previous = self._backoff.get(name)
        backoff = (self.first_backoff if previous is None or ran >= STABLE_SECONDS
                   else min(previous * 2, self.max_backoff))
        self._backoff[name] = backoff
        return backoff

    def _start_one(self, name: str) -> None:
        process = self._processes[name]
        process.pop("returncode", None)
        process.pop("pid", None)
        process["process"] = self._spawn(name)

    def _start(self):
        for name, process in self._processes.items():
            process["process"] = self._spawn(name)

    def _spawn(self, name: str):
        child = multiprocessing.Process(name=name, target=self._processes[name]["obj"].run,
                                        args=(self.events, True))
        child.start()
        return child
