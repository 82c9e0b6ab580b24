"""The bot's tools: set_outcome, schedule_callback, end_call.

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
from botruntime.store import CallContext, CallStore

logger = logging.getLogger(__name__)


@dataclass
class Outcome:
    disposition: str = ""
    notes: str = ""
    callback_at: datetime | None = None


# Told of every tool the bot used: (name, arguments, result).
ToolUsed = Callable[[str, dict, dict], Awaitable[None]]


class CallTools:
    def __init__(self, call: CallContext, on_end_call: Callable[[str], Awaitable[None]], *,
                 store: CallStore | None = None, on_used: ToolUsed | None = None):
        self.call = call
        self.outcome = Outcome()
        self._on_end_call = on_end_call
        self._store = store
        self._on_used = on_used

    async def _used(self, name: str, arguments: dict, result: dict) -> dict:
        if self._on_used is not None:
            await self._on_used(name, arguments, result)
        return result

    def _now(self) -> datetime:
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
        now = self._now()
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

    async def end_call(self, reason: str = "") -> dict:
        await self._used("end_call", {"reason": reason}, {"ok": True})
        await self._on_end_call(reason or "bot ended the call")
        return {"ok": True}


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


def tools_schema() -> ToolsSchema:
    return ToolsSchema(standard_tools=SCHEMAS)


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

    llm.register_function("set_outcome", set_outcome)
    llm.register_function("schedule_callback", schedule_callback)
    llm.register_function("end_call", end_call)
