"""The bot's tools: set_outcome, schedule_callback, end_call, transfer_call.

The scripted agent calls these methods directly; the cloud stack's LLM reaches the same
methods through function calling (`register`). The outcome is kept here and, given a
store, recorded there at once (through `database_sync_to_async`: the store blocks).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from channels.db import database_sync_to_async
from pipecat.adapters.llm.schemas.function_schema import FunctionSchema
from pipecat.adapters.llm.schemas.tools_schema import ToolsSchema
from pipecat.services.llm_service import FunctionCallParams

from botruntime.outcomes import Disposition
from botruntime.script import BOT_DISPOSITIONS, parse_callback_time
from botruntime.store import CallContext, CallStore, Refusal, TransferAnswer

logger = logging.getLogger(__name__)


@dataclass
class Outcome:
    disposition: str = ""
    notes: str = ""
    callback_at: datetime | None = None


# Told of every tool the bot used: (name, arguments, result).
ToolUsed = Callable[[str, dict, dict], Awaitable[None]]
# The session's hand-off (botruntime.handoff): (reason, summary) -> the store's answer and
# what the bot said about a refusal (the callback it offered outside agent hours).
HandOff = Callable[[str, str], Awaitable[tuple[TransferAnswer, str]]]


class CallTools:
    def __init__(self, call: CallContext, on_end_call: Callable[[str], Awaitable[None]], *,
                 store: CallStore | None = None, on_used: ToolUsed | None = None,
                 hand_off: HandOff | None = None):
        self.call = call
        self.outcome = Outcome()
        self._on_end_call = on_end_call
        self._store = store
        self._on_used = on_used
        self._hand_off = hand_off

    async def _used(self, name: str, arguments: dict, result: dict) -> dict:
        if self._on_used is not None:
            await self._on_used(name, arguments, result)
        return result

    def now(self) -> datetime:
        """Now in the callee's zone."""
        try:
            zone = ZoneInfo(self.call.timezone or "UTC")
        except (ZoneInfoNotFoundError, ValueError):
            zone = ZoneInfo("UTC")
        return datetime.now(zone)

    async def set_outcome(self, disposition: str, notes: str = "") -> dict:
        result = await self._set_outcome(disposition, notes)
        return await self._used("set_outcome", {"disposition": disposition, "notes": notes}, result)

    async def _set_outcome(self, disposition: str, notes: str) -> dict:
        disposition = (disposition or "").strip().lower().replace(" ", "_").replace("-", "_")
        if disposition not in BOT_DISPOSITIONS:
            return {"ok": False, "error": f"disposition must be one of {', '.join(BOT_DISPOSITIONS)}"}
        self.outcome.disposition = disposition
        self.outcome.notes = notes or self.outcome.notes
        if self._store is not None:
            await database_sync_to_async(self._store.set_disposition)(
                self.call.call_id, disposition, self.outcome.notes
            )
            if disposition == Disposition.DO_NOT_CALL:
                # Opt-outs are honoured at once, not when the call ends.
                await database_sync_to_async(self._store.add_do_not_call)(
                    self.call.phone, notes or "Asked not to be called again (bot)."
                )
        logger.info("call %s outcome %s", self.call.call_id, disposition)
        return {"ok": True, "disposition": disposition}

    async def schedule_callback(self, when: str, notes: str = "") -> dict:
        now = self.now()
        at = None
        try:
            at = datetime.fromisoformat(when)
            if at.tzinfo is None:
                at = at.replace(tzinfo=now.tzinfo)
        except (TypeError, ValueError):
            at = parse_callback_time(when or "", now)
        self.outcome.callback_at = at
        await self._set_outcome(Disposition.CALLBACK_REQUESTED, notes or f"Asked to be called back: {when}")
        return await self._used("schedule_callback", {"when": when, "notes": notes},
                                {"ok": True, "callback_at": at.isoformat()})

    async def hand_off(self, reason: str, summary: str = "") -> tuple[TransferAnswer, str]:
        """Hand the caller to a person; the answer, and what the bot said of a refusal."""
        if self._hand_off is None:
            answer, said = TransferAnswer(started=False, refusal=Refusal.FAILED), ""
        else:
            answer, said = await self._hand_off(reason or "asked for a person", summary or "")
        await self._used("transfer_call", {"reason": reason, "summary": summary},
                         transfer_result(answer, said))
        return answer, said

    async def transfer_call(self, reason: str = "", summary: str = "") -> dict:
        answer, said = await self.hand_off(reason, summary)
        return transfer_result(answer, said)

    async def end_call(self, reason: str = "") -> dict:
        await self._used("end_call", {"reason": reason}, {"ok": True})
        await self._on_end_call(reason or "bot ended the call")
        return {"ok": True}


def transfer_result(answer: TransferAnswer, said: str) -> dict:
    """transfer_call's result, for the LLM."""
    if answer.started:
        return {"ok": True, "transferred": True,
                "note": "The call is being handed to a person: say nothing more."}
    result = {"ok": False, "transferred": False, "refusal": answer.refusal}
    if answer.refusal == Refusal.OUTSIDE_AGENT_HOURS:
        result["agents_open_at"] = answer.agents_open_at.isoformat() if answer.agents_open_at else None
        result["said"] = said
        result["note"] = ("The caller has been offered a callback: if they agree, call "
                          "schedule_callback with when=agents_open_at.")
    else:
        result["note"] = "No one can take the call now: carry on, e.g. say a specialist will be in touch."
    return result


TRANSFER_SCHEMA = FunctionSchema(
    name="transfer_call",
    description="Hand the caller to a person now (they asked for one, or agreed to talk to a specialist).",
    properties={
        "reason": {"type": "string", "description": "Why, in a few words (e.g. 'asked for a person')."},
        "summary": {"type": "string", "description": "One line for the person taking the call."},
    },
    required=["reason", "summary"],
)

SCHEMAS = [
    FunctionSchema(
        name="set_outcome",
        description="Record what came of the call.",
        properties={
            "disposition": {"type": "string", "enum": list(BOT_DISPOSITIONS)},
            "notes": {"type": "string", "description": "One sentence for the sales team."},
        },
        required=["disposition"],
    ),
    FunctionSchema(
        name="schedule_callback",
        description="The caller asked to be called back at a given time.",
        properties={
            "when": {
                "type": "string",
                "description": "ISO 8601 date-time, or the caller's own words (e.g. 'tomorrow at ten').",
            },
            "notes": {"type": "string"},
        },
        required=["when"],
    ),
    FunctionSchema(
        name="end_call",
        description="Hang up, after you have said goodbye.",
        properties={"reason": {"type": "string"}},
        required=[],
    ),
]


def tools_schema(call: CallContext | None = None) -> ToolsSchema:
    """The tools offered to the LLM: transfer_call only to a campaign with someone to take
    the call (one without goes on as it always has)."""
    transfer = [TRANSFER_SCHEMA] if call is not None and call.can_transfer else []
    return ToolsSchema(standard_tools=[*SCHEMAS, *transfer])


def register(llm, tools: CallTools) -> None:
    """Wire the tools to an LLM service's function calls."""

    async def set_outcome(params: FunctionCallParams):
        await params.result_callback(await tools.set_outcome(**dict(params.arguments)))

    async def schedule_callback(params: FunctionCallParams):
        await params.result_callback(await tools.schedule_callback(**dict(params.arguments)))

    async def end_call(params: FunctionCallParams):
        from pipecat.frames.frames import FunctionCallResultProperties

        # The goodbye was said before the call; nothing more for the LLM to do.
        await params.result_callback(
            await tools.end_call(**dict(params.arguments)),
            properties=FunctionCallResultProperties(run_llm=False),
        )

    async def transfer_call(params: FunctionCallParams):
        from pipecat.frames.frames import FunctionCallResultProperties

        result = await tools.transfer_call(**dict(params.arguments))
        # Handed over, or the callback offered (the bot said it): nothing for the LLM to
        # add. Otherwise it carries on the conversation.
        quiet = result["transferred"] or result.get("refusal") == Refusal.OUTSIDE_AGENT_HOURS
        await params.result_callback(result, properties=FunctionCallResultProperties(run_llm=not quiet))

    llm.register_function("set_outcome", set_outcome)
    llm.register_function("schedule_callback", schedule_callback)
    llm.register_function("end_call", end_call)
    llm.register_function("transfer_call", transfer_call)
