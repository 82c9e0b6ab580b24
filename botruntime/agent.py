"""The scripted agent: stands where the LLM would, follows the campaign's script and calls
the same tools the cloud LLM calls."""

from __future__ import annotations

import logging

from pipecat.frames.frames import (
    Frame,
    LLMContextFrame,
    LLMFullResponseEndFrame,
    LLMFullResponseStartFrame,
    LLMTextFrame,
)
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from botruntime import intents
from botruntime.prompts import render
from botruntime.script import Action, ScriptedDialogue, key_of
from botruntime.store import Refusal
from botruntime.tools import CallTools

logger = logging.getLogger(__name__)


def _text_of(message) -> str:
    content = message.get("content") if isinstance(message, dict) else None
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(part.get("text", "") for part in content if isinstance(part, dict))
    return ""


class ScriptedAgent(FrameProcessor):
    def __init__(self, dialogue: ScriptedDialogue, tools: CallTools, template_context: dict, **kwargs):
        super().__init__(**kwargs)
        self.dialogue = dialogue
        self.tools = tools
        self._context = template_context
        self._answered = 0  # user messages already answered
        self.silenced = False  # set when a voicemail takes over the call

    def opening(self) -> list[str]:
        return [render(text, self._context) for text in self.dialogue.opening()]

    def say(self, key: str) -> str:
        return render(self.dialogue.script[key], self._context)

    async def process_frame(self, frame: Frame, direction: FrameDirection):
        await super().process_frame(frame, direction)
        if isinstance(frame, LLMContextFrame):
            if not frame.speculation and not self.silenced:
                await self._answer(frame)
            return
        await self.push_frame(frame, direction)

    async def _answer(self, frame: LLMContextFrame):
        messages = frame.context.get_messages()
        user_messages = [m for m in messages if isinstance(m, dict) and m.get("role") == "user"]
        if len(user_messages) <= self._answered:
            return  # nothing new from the caller (e.g. an empty turn)
        new = [_text_of(m).strip() for m in user_messages[self._answered:]]
        self._answered = len(user_messages)
        if new and (key := key_of(new[-1])):
            action = self.dialogue.press(key)  # a key pressed last: the caller's latest word
            logger.info("scripted agent: key %s -> %s", key, action.disposition or "-")
            await self._act(action)
            return
        heard = " ".join(text for text in new if not key_of(text)).strip()
        if not heard:
            return

        meaning = None
        if self.dialogue.keyword_rule(heard) is None and not self.dialogue.finished:
            try:
                meaning = await intents.meaning(self.dialogue.script, heard)
            except Exception:
                # Without the encoder the keywords still work: the caller is asked again.
                logger.exception("could not match %r by meaning", heard)
        action = self.dialogue.respond(heard, meaning)
        logger.info("scripted agent heard %r -> %s (%s)", heard, action.disposition or "-", meaning)
        await self._act(action)

    async def _act(self, action: Action) -> None:
        if action.transfer:
            # Its own task: the hand-off waits for the bot's words to be heard, and those
            # pass through this processor.
            self.create_task(self._transfer(action))
            return
        await self._carry_out(action)

    async def _transfer(self, action: Action) -> None:
        callback = bool(action.callback_text)
        if action.disposition and not callback:  # "interested" stands, transferred or not
            await self.tools.set_outcome(action.disposition, action.notes)
        answer, said = await self.tools.hand_off(action.reason, self.dialogue.summary())
        if answer.started:
            return
        if answer.refusal == Refusal.OUTSIDE_AGENT_HOURS:
            self.dialogue.offer_callback(said, answer.agents_open_at)  # the session said it
            return
        # No one to hand the caller to: the step as written.
        await self._carry_out(Action(say=action.say, disposition="" if not callback else action.disposition,
                                     notes=action.notes, callback_text=action.callback_text,
                                     end=action.end))

    async def _carry_out(self, action: Action) -> None:
        if action.callback_at is not None:
            await self.tools.schedule_callback(action.callback_at.isoformat(), action.notes)
        elif action.callback_text:
            await self.tools.schedule_callback(action.callback_text, action.notes)
        elif action.disposition:
            await self.tools.set_outcome(action.disposition, action.notes)

        if action.say:
            await self.push_frame(LLMFullResponseStartFrame())
            for text in action.say:
                await self.push_frame(LLMTextFrame(render(text, self._context) + " "))
            await self.push_frame(LLMFullResponseEndFrame())
        if action.end:
            await self.tools.end_call("script finished")
