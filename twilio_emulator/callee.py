"""The person (or machine) who picked up: plays a scenario script on the line."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable

from .audio import read_wav_as_ulaw, tone, ulaw_to_pcm16
from .hearing import Hearing, match_ratio
from .line import Line
from .scenario import Callee, Step
from .speech import Synthesizer
from .timeline import Timeline

POLL_SECONDS = 0.02
DTMF_SPACING_SECONDS = 0.25
# A barge-in waits for the bot to be this far into a sentence before talking over it.
BARGE_IN_AFTER_SECONDS = 0.4
BEEP = tone(1000, 0.5)

HangUp = Callable[[str], None]


async def prepare(callee: Callee, voice: Synthesizer) -> None:
    """Synthesise every phrase before the callee answers, so speaking is instant."""
    await asyncio.gather(*(voice.ulaw(text, callee.voice) for text in callee.phrases()))


async def run_person(callee: Callee, line: Line, voice: Synthesizer, hang_up: HangUp,
                     timeline: Timeline, hearing: Hearing) -> None:
    """Play the script, then stay on the line (silent) until somebody hangs up."""
    for step in callee.script:
        if step.kind == "expect":
            await _expect(step, callee, line, hearing, timeline)
        elif await _play_step(step, callee, line, voice, hang_up, timeline):
            return
    await line.wait_closed()


async def run_machine(callee: Callee, line: Line, voice: Synthesizer, hang_up: HangUp,
                      timeline: Timeline, on_beep: Callable[[], Awaitable[None]]) -> None:
    """Greeting, beep, then record the message in silence and hang up."""
    greeting = await voice.ulaw(callee.greeting, callee.voice) if callee.greeting else b""
    timeline.add("callee_greeting", text=callee.greeting)
    await line.speak(greeting + BEEP)
    timeline.add("callee_beep")
    await on_beep()
    await _sleep_unless_closed(line, callee.listen)
    if not line.closed:
        hang_up("answering machine stopped recording")


async def _play_step(step: Step, callee: Callee, line: Line, voice: Synthesizer,
                     hang_up: HangUp, timeline: Timeline) -> bool:
    """Run one step; True when the callee hung up."""
    if step.kind in ("say", "wav"):
        audio = (await voice.ulaw(step.text, callee.voice) if step.kind == "say"
                 else await asyncio.to_thread(read_wav_as_ulaw, step.path))
        took_turn = await _wait_for_turn(line, callee)
        timeline.add("callee_" + step.kind, text=step.text, path=str(step.path or ""),
                     after_bot_turn=took_turn, seconds=round(len(audio) / 8000, 2))
        await line.speak(audio)
    elif step.kind == "barge_in":
        audio = await voice.ulaw(step.text, callee.voice)
        interrupted = await _wait_for_bot_talking(line, callee.first_turn_timeout)
        timeline.add("callee_barge_in", text=step.text, bot_was_talking=interrupted)
        await line.speak(audio)
    elif step.kind in ("pause", "silence"):
        await _sleep_unless_closed(line, step.seconds)
    elif step.kind == "dtmf":
        for digit in step.digits:
            timeline.add("callee_dtmf", digit=digit)
            await line.press(digit)
            await _sleep_unless_closed(line, DTMF_SPACING_SECONDS)
    elif step.kind == "hangup":
        hang_up("callee hung up")
        return True
    elif step.kind == "hangup_after":
        # Measured from the answer: "hang up if still connected N s into the call".
        await _sleep_unless_closed(line, step.seconds - (time.monotonic() - line.answered_at))
        if not line.closed:
            hang_up(f"callee hung up {step.seconds:g} s into the call")
        return True
    return line.closed


async def _expect(step: Step, callee: Callee, line: Line, hearing: Hearing,
                  timeline: Timeline) -> None:
    """Listen until the other side has said the step's words (or `within` s have passed).

    Each time the other side has spoken and paused, everything heard since the step began
    is recognised; `<Say>` has no audio in the emulator, so its text counts as heard.
    """
    started = time.monotonic()
    deadline = started + step.seconds
    ear, said_before = line.listen(), len(line.said_texts)
    checked_up_to, heard, share, missing = line.last_bot_audio, "", 0.0, [step.text]
    try:
        while True:
            timed_out = line.closed or time.monotonic() >= deadline
            spoke = line.last_bot_audio > checked_up_to
            if spoke and (timed_out or line.bot_quiet_for() >= callee.turn_silence):
                checked_up_to = line.last_bot_audio
                pcm = ulaw_to_pcm16(bytes(ear)).astype("<i2").tobytes()
                recognised = await hearing.transcribe(step.text, pcm)
                heard = " ".join(filter(None, [*line.said_texts[said_before:], recognised]))
                share, missing = match_ratio(step.text, heard)
                if share >= step.min_match:
                    break
            if timed_out:
                break
            await asyncio.sleep(POLL_SECONDS)
    finally:
        line.stop_listening(ear)
    timeline.add("callee_heard", expected=step.text, heard=heard,
                 matched=share >= step.min_match, match=round(share, 2), missing=missing,
                 listened_seconds=round(time.monotonic() - started, 2))


async def _wait_for_turn(line: Line, callee: Callee) -> bool:
    """Wait until the bot has spoken and then been quiet; False if it never spoke."""
    since = line.callee_done_speaking_at
    started = time.monotonic()
    while not line.closed:
        if line.last_bot_audio > since:
            if line.bot_quiet_for() >= callee.turn_silence:
                return True
        elif time.monotonic() - started >= callee.first_turn_timeout:
            return False
        await asyncio.sleep(POLL_SECONDS)
    return False


async def _wait_for_bot_talking(line: Line, timeout: float) -> bool:
    started = time.monotonic()
    while not line.closed and time.monotonic() - started < timeout:
        if line.bot_talking_for() >= BARGE_IN_AFTER_SECONDS:
            return True
        await asyncio.sleep(POLL_SECONDS)
    return False


async def _sleep_unless_closed(line: Line, seconds: float) -> None:
    if seconds <= 0:
        return
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(line.wait_closed(), timeout=seconds)
