"""Handing a call to a person, and the sessions around it: the caller back when no agent
answered (parameters resume="agent_unavailable"), the agent briefed on a warm transfer's
agent leg (role="agent_briefing"), and the keys the caller presses.

The product does the telephony (`CallStore.transfer_call` redirects the live call, which
ends this media stream; `agent_briefed` joins the agent to the waiting caller): the session
says its words first, while the stream still carries them, and afterwards leaves the call
up for the person now on it. It tells the caller to hold only once the product said the
transfer can start (`transfer_refusal`), so a caller outside agent hours is offered the
callback straight away.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from channels.db import database_sync_to_async
from pipecat.frames.frames import (
    EndFrame,
    Frame,
    InputDTMFFrame,
    LLMMessagesAppendFrame,
)
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from botruntime import prompts
from botruntime.script import pressed, spoken_when
from botruntime.store import Refusal, TransferAnswer
from botruntime.transport import KeepCallSerializer

if TYPE_CHECKING:
    from botruntime.session import BotSession

logger = logging.getLogger(__name__)

# After the hand-off Twilio ends the stream itself (the call runs its new TwiML); should it
# not within this long, the session ends it, leaving the call up.
STREAM_END_WAIT_SECS = 10.0
# The words before a hand-off are in synthesis: how long they may take to start playing.
SPEECH_START_SECS = 10.0


class Keypad(FrameProcessor):
    """Right after the input transport: a key the caller pressed becomes a caller line in
    the transcript and a caller message "[pressed 1]" for the brain (the LLM reads the
    prompt's keypad map; the scripted agent the script's)."""

    def __init__(self, session: BotSession):
        # Direct mode: every 20 ms of caller audio passes here; no queue and task of its own.
        super().__init__(enable_direct_mode=True)
        self._session = session

    async def process_frame(self, frame: Frame, direction: FrameDirection):
        await super().process_frame(frame, direction)
        if not isinstance(frame, InputDTMFFrame):
            await self.push_frame(frame, direction)
            return
        text = pressed(frame.button.value)
        logger.info("call %s: caller %s", self._session.call.call_id, text)
        await self._session.store_line("caller", text)
        if not self._session.ending:
            await self.push_frame(LLMMessagesAppendFrame(
                messages=[{"role": "user", "content": text}], run_llm=True))


class HandOffs:
    """The session's hand-off: one at a time, its words said before the store is asked."""

    def __init__(self, session: BotSession, script: dict, template_context: dict):
        self._session = session
        self._script = script
        self._context = template_context
        self._task: asyncio.Task | None = None
        self.transferred = False
        # The store is redirecting the call: Twilio may end the stream before it answers.
        self.asking = False
        # "Please hold" and the briefing are said to the end: a caller talking over them
        # must not cut them (see session._NoBargeInOnLastWords).
        self.speaking = False

    def call_handed_over(self) -> bool:
        """The call goes on without this session: transferred, or the agent briefed."""
        return self.transferred or prompts.is_briefing(self._session.call)

    def text(self, key: str, **extra) -> str:
        return prompts.render(self._script[key], {**self._context, **extra})

    async def hand_off(self, reason: str, summary: str) -> tuple[TransferAnswer, str]:
        """Ask the product to hand the caller to a person (`CallTools.hand_off`). Its own
        task: a caller interrupting the LLM's tool call must not cut a transfer in half."""
        if self._task is None:
            self._task = self._session.spawn(self._hand_off(reason, summary))
        task = self._task
        try:
            return await asyncio.shield(task)
        finally:
            if task.done() and not self.transferred:
                self._task = None  # refused: the caller may ask again later

    async def _hand_off(self, reason: str, summary: str) -> tuple[TransferAnswer, str]:
        session = self._session
        if session.ending:
            return TransferAnswer(started=False, refusal=Refusal.NOT_LIVE), ""
        try:
            # Asked first: "please hold" followed by "our team is not available" is wrong.
            answer = await database_sync_to_async(session.store.transfer_refusal)(session.call.call_id)
            if answer is None:
                # Said before asking: once the call is redirected the stream carries nothing.
                self.speaking = True
                await session.say_and_wait(self.text("transfer_reply"))
                # Kept up from here: the redirect ends the stream, maybe before the store
                # answers, and ending the pipeline then must not hang up the call handed over.
                self.asking = True
                self._keep_call(True)
                answer = await database_sync_to_async(session.store.transfer_call)(
                    session.call.call_id, reason, summary)
        except Exception:
            logger.exception("call %s: the transfer failed", session.call.call_id)
            answer = TransferAnswer(started=False, refusal=Refusal.FAILED)
        finally:
            self.speaking = self.asking = False
        if not answer.started:
            self._keep_call(False)
        logger.info("call %s: transfer (%s) %s", session.call.call_id, reason,
                    "started" if answer.started else f"refused: {answer.refusal}")
        if answer.started:
            self.transferred = True
            self.leave_call_up("handed to a person")
            return answer, ""
        if answer.refusal == Refusal.OUTSIDE_AGENT_HOURS:
            when = spoken_when(answer.agents_open_at, session.tools.now()) if answer.agents_open_at else ""
            said = self.text("agents_closed_reply", agents_open=when)
            await session.say(said)
            return answer, said
        return answer, ""

    def _keep_call(self, keep: bool) -> None:
        serializer = self._session.serializer()
        if isinstance(serializer, KeepCallSerializer):
            serializer.handed_over = keep

    async def settled(self) -> None:
        """Until a hand-off under way has its answer."""
        if self._task is not None and not self._task.done():
            await asyncio.wait([self._task])

    def leave_call_up(self, reason: str) -> None:
        """The call now belongs to someone else: end this session with its stream, never
        hanging the call up."""
        session = self._session
        session.ending = True
        session.end_reason = reason
        self._keep_call(True)
        if session.pipeline_running:
            session.add_timer(self._end_stream_later())

    async def _end_stream_later(self) -> None:
        await asyncio.sleep(STREAM_END_WAIT_SECS)
        logger.info("call %s: the stream outlived the hand-off; closing it", self._session.call.call_id)
        await self._session.worker.queue_frame(EndFrame())

    async def brief_agent(self) -> None:
        """The agent's leg: once the agent has heard the briefing, the product joins them
        to the caller (and ends this stream)."""
        session = self._session
        self.speaking = True
        try:
            await session.until_heard()
            self._keep_call(True)  # the agent's leg is redirected into the conference
            await database_sync_to_async(session.store.agent_briefed)(session.call.call_id)
        except Exception:
            logger.exception("call %s: could not hand the briefed agent over", session.call.call_id)
        finally:
            self.speaking = False
        self.leave_call_up("agent briefed")

    async def book_unanswered_callback(self) -> None:
        """The campaign books the callback when no agent answered, without asking."""
        await self._session.tools.schedule_callback(
            "", "No agent answered the transfer; a callback was booked.")
