"""The phone line of one answered call: audio both ways at real-time pace.

On every tick of the shared 20 ms clock (see metronome.py) the line moves one frame of
callee speech towards the app and plays one frame of the app's audio to the callee.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from pathlib import Path
from typing import Protocol

from .audio import FRAME_BYTES, FRAME_MS, SILENCE_FRAME, WavRecorder, is_speech
from .metronome import Metronome
from .timeline import Timeline

FRAME_SECONDS = FRAME_MS / 1000
# After a stall this long we stop trying to catch up (a burst would not help anyone).
MAX_CATCH_UP_SECONDS = 1.0
# Ticks later than this are counted on the timeline: a sign of an overloaded emulator.
LATE_TICK_SECONDS = 0.010
# Gaps shorter than this between speech frames belong to the same talk spurt.
TALK_SPURT_GAP = 0.3


class StreamPort(Protocol):
    """What the line needs from an attached Media Stream."""

    async def send_media(self, frame: bytes) -> None: ...

    async def send_mark(self, name: str) -> None: ...

    async def send_dtmf(self, digit: str) -> None: ...


class Playout:
    """The app's audio waiting to be heard, and the marks placed between it.

    Positions count bytes since the stream started: a mark is due once everything
    queued before it has been played.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._marks: deque[tuple[int, str]] = deque()
        self.queued = 0
        self.played = 0

    def enqueue(self, audio: bytes) -> None:
        self._buffer += audio
        self.queued += len(audio)

    def add_mark(self, name: str) -> None:
        self._marks.append((self.queued, name))

    def next_frame(self) -> tuple[bytes, list[str]]:
        """One frame to play (silence if nothing is queued) and the marks now due."""
        frame = bytes(self._buffer[:FRAME_BYTES])
        del self._buffer[:FRAME_BYTES]
        self.played += len(frame)
        due = []
        while self._marks and self._marks[0][0] <= self.played:
            due.append(self._marks.popleft()[1])
        return frame.ljust(FRAME_BYTES, SILENCE_FRAME[:1]), due

    def clear(self) -> list[str]:
        """Drop unplayed audio; every pending mark is returned to be echoed."""
        self._buffer.clear()
        self.queued = self.played
        names = [name for _, name in self._marks]
        self._marks.clear()
        return names

    @property
    def pending_seconds(self) -> float:
        return len(self._buffer) / (FRAME_BYTES / FRAME_SECONDS)


class Line:
    def __init__(self, timeline: Timeline, recording: WavRecorder | None = None) -> None:
        self.timeline = timeline
        self.recording = recording  # both sides: left = callee, right = app
        self.app_audio: WavRecorder | None = None  # what the callee heard, once streaming
        self.playout = Playout()
        self.stream: StreamPort | None = None
        self.answered_at = time.monotonic()
        self.callee_done_speaking_at = self.answered_at
        self.last_bot_audio = float("-inf")
        self.bot_spurt_started = float("-inf")
        # A <Say> has no audio here: the bot counts as talking until this moment.
        self.bot_says_until = float("-inf")
        self.said_texts: list[str] = []  # what <Say> said: it has no audio here
        self._ears: list[bytearray] = []  # buffers collecting what the callee hears
        self._mouth = bytearray()
        self._drained: asyncio.Future[None] | None = None
        self._closed = asyncio.Event()

    # -- the app's side -------------------------------------------------------------

    def attach(self, stream: StreamPort, app_audio_path: Path) -> Path:
        """Route audio through `stream`; the app's audio is recorded to one WAV per call."""
        self.stream = stream
        if self.app_audio is None:
            self.app_audio = WavRecorder(app_audio_path)
        return self.app_audio.path

    def detach(self, stream: StreamPort) -> None:
        """A new stream starts with an empty buffer, as with Twilio."""
        if self.stream is stream:
            self.stream = None
            self.playout = Playout()

    def bot_says(self, seconds: float, text: str = "") -> None:
        self.bot_says_until = time.monotonic() + seconds
        if text:
            self.said_texts.append(text)
        self._heard_bot(time.monotonic())

    # -- the callee's side ------------------------------------------------------------

    async def speak(self, audio: bytes) -> None:
        """Queue callee audio and return once it has all gone down the line."""
        self._mouth += audio
        if self._drained is None or self._drained.done():
            self._drained = asyncio.get_running_loop().create_future()
        closed = asyncio.ensure_future(self._closed.wait())
        try:
            await asyncio.wait([self._drained, closed], return_when=asyncio.FIRST_COMPLETED)
        finally:
            closed.cancel()
        self.callee_done_speaking_at = time.monotonic()

    def listen(self) -> bytearray:
        """Start collecting what the callee hears (μ-law), until `stop_listening`."""
        ear = bytearray()
        self._ears.append(ear)
        return ear

    def stop_listening(self, ear: bytearray) -> None:
        if ear in self._ears:
            self._ears.remove(ear)

    async def press(self, digit: str) -> None:
        if self.stream is None:
            self.timeline.add("dtmf_not_sent", digit=digit, reason="no media stream attached")
            return
        await self.stream.send_dtmf(digit)

    def bot_quiet_for(self) -> float:
        return time.monotonic() - self.last_bot_audio

    def bot_talking_for(self) -> float:
        """How long the bot has been talking, 0 if it is quiet right now."""
        now = time.monotonic()
        if now - self.last_bot_audio > TALK_SPURT_GAP:
            return 0.0
        return now - self.bot_spurt_started

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    async def wait_closed(self) -> None:
        await self._closed.wait()

    def close(self) -> None:
        self._closed.set()
        if self._drained is not None and not self._drained.done():
            self._drained.set_result(None)
        for recorder in (self.recording, self.app_audio):
            if recorder is not None:
                recorder.close()

    # -- the clock ---------------------------------------------------------------------

    async def run(self, clock: Metronome) -> None:
        """Move one frame each way per tick until the call ends.

        A call that falls behind (its socket was slow) catches up frame by frame, up to
        MAX_CATCH_UP_SECONDS; how late its frames went out is put on the timeline.
        """
        done = clock.join()
        ticks = late_ticks = 0
        worst_lateness = 0.0
        try:
            while not self._closed.is_set():
                newest = await clock.after(done)
                if (newest - done) * FRAME_SECONDS > MAX_CATCH_UP_SECONDS:
                    self.timeline.add("clock_stall",
                                      behind_seconds=round((newest - done) * FRAME_SECONDS, 3))
                    done = newest - 1
                while done < newest and not self._closed.is_set():
                    done += 1
                    lateness = time.monotonic() - clock.deadline(done)
                    worst_lateness = max(worst_lateness, lateness)
                    late_ticks += lateness > LATE_TICK_SECONDS
                    ticks += 1
                    await self._tick()
        finally:
            clock.leave()
            self.timeline.add("media_clock", ticks=ticks, late_over_10ms=late_ticks,
                              worst_late_ms=round(worst_lateness * 1000, 1))

    async def _tick(self) -> None:
        now = time.monotonic()
        callee_frame = bytes(self._mouth[:FRAME_BYTES]).ljust(FRAME_BYTES, SILENCE_FRAME[:1])
        del self._mouth[:FRAME_BYTES]
        if not self._mouth and self._drained is not None and not self._drained.done():
            self._drained.set_result(None)

        app_frame, due_marks = self.playout.next_frame()
        if now < self.bot_says_until or is_speech(app_frame):
            self._heard_bot(now)
        if self.recording is not None:
            self.recording.write(callee_frame, app_frame)
        if self.app_audio is not None:
            self.app_audio.write(app_frame)
        for ear in self._ears:
            ear += app_frame

        stream = self.stream
        if stream is not None:
            await stream.send_media(callee_frame)
            for name in due_marks:
                await stream.send_mark(name)

    def _heard_bot(self, now: float) -> None:
        if now - self.last_bot_audio > TALK_SPURT_GAP:
            self.bot_spurt_started = now
        self.last_bot_audio = now
