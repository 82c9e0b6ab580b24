"""One 20 ms clock for every call in the process.

With a timer per call, a hundred calls wake the process five thousand times a second at
scattered moments, and each wake-up is a chance for the operating system to run something
else first. One shared clock wakes it fifty times a second and every call sends its frame
in that same turn of the event loop. Ticks are scheduled by absolute deadlines
(start + n * 20 ms), so the pace never drifts.
"""

from __future__ import annotations

import asyncio
import time

TICK_SECONDS = 0.020


class Metronome:
    def __init__(self) -> None:
        self.tick = 0
        self._started = 0.0
        self._event = asyncio.Event()
        self._listeners = 0
        self._task: asyncio.Task[None] | None = None

    def deadline(self, tick: int) -> float:
        """When `tick` was due, on the monotonic clock."""
        return self._started + tick * TICK_SECONDS

    def join(self) -> int:
        """Start listening; returns the current tick. Pair with leave()."""
        self._listeners += 1
        if self._task is None or self._task.done():
            self._started = time.monotonic() - self.tick * TICK_SECONDS
            self._task = asyncio.create_task(self._run())
        return self.tick

    def leave(self) -> None:
        self._listeners -= 1
        if self._listeners <= 0 and self._task is not None:
            self._listeners = 0
            self._task.cancel()  # nobody listens: no more wake-ups
            self._task = None

    async def after(self, tick: int) -> int:
        """Wait for a tick later than `tick`; returns the newest tick number."""
        while self.tick <= tick:
            # Every waiter has its own Event future: cancelling one call never
            # disturbs the others.
            await self._event.wait()
        return self.tick

    async def _run(self) -> None:
        while True:
            delay = self.deadline(self.tick + 1) - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            self.tick += 1
            event, self._event = self._event, asyncio.Event()
            event.set()
