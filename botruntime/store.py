"""What a bot session needs from the product that runs it, as one small interface.

The session knows no app and no model: it is handed a `CallStore` (the product's is
`calls.bot_store.DatabaseCallStore`; the tests' in-memory one needs no database). Its
methods block — they write to a database — so the session calls them through
`database_sync_to_async`, never on the event loop."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from botruntime.outcomes import VoiceStack


@dataclass
class CallContext:
    """Everything a session needs to know about its call, read once at `start`."""

    call_id: int
    call_sid: str
    direction: str
    phone: str
    campaign_id: int | None = None
    campaign_name: str = ""
    campaign_slug: str = ""
    greeting_template: str = ""
    # Said before the greeting on every stack (an AI disclosure, a recording notice), in order.
    opening_notices: list[str] = field(default_factory=list)
    system_prompt_template: str = ""
    script: dict = field(default_factory=dict)
    voice_stack: str = VoiceStack.LITE
    voicemail_message: str = ""
    customer: dict = field(default_factory=dict)
    lead_id: int | None = None
    timezone: str = "UTC"
    parameters: dict = field(default_factory=dict)
    # The campaign has someone to hand callers to (its transfer targets): the LLM is offered
    # transfer_call, and the bot says it is connecting the caller before it asks the store.
    can_transfer: bool = False
    # When the agent did not answer and the caller is back (parameters resume=
    # "agent_unavailable"): "offer_callback" asks them, "end_call_with_callback" books it.
    transfer_unanswered: str = "offer_callback"


class Refusal:
    """Why `CallStore.transfer_call` did not start a transfer, or `transfer_refusal` says it
    would not (`TransferAnswer.refusal`)."""

    OUTSIDE_AGENT_HOURS = "outside_agent_hours"
    NO_TRANSFER_TARGETS = "no_transfer_targets"
    NOT_LIVE = "not_live"
    FAILED = "failed"


@dataclass(frozen=True)
class TransferAnswer:
    """What came of asking for a transfer. `started`: the product is redirecting the call
    (its media stream is about to end); else `refusal` says why not and, outside agent
    hours, `agents_open_at` when the agents are next there."""

    started: bool
    refusal: str = ""
    agents_open_at: datetime | None = None


class UnknownCall(Exception):
    """The stream names a call we cannot accept (call_id with another CallSid)."""


# (16-bit PCM, sample rate, channels)
Recording = tuple[bytes, int, int]


class CallStore(Protocol):
    def link_call(self, call_sid: str, stream_sid: str, parameters: dict) -> CallContext:
        """The call a starting stream belongs to (raises UnknownCall to refuse the stream)."""

    def add_transcript_line(self, call_id: int, speaker: str, text: str, offset_ms: int,
                            unheard: str = "") -> int:
        """Store a line; its id. `unheard`: the rest of a bot line the caller talked over."""

    def cut_transcript_line(self, line_id: int, heard: str, unheard: str) -> None:
        """A bot line stored before it was spoken, cut where the caller talked over it."""

    def pause_campaign(self, campaign_id: int, reason: str) -> None:
        """Stop dialling a campaign whose calls cannot work (a voice service refused its key)."""

    def transcript_lines(self, call_id: int) -> list[tuple[str, str]]:
        """(speaker, text) in the order they were said."""

    def set_disposition(self, call_id: int, disposition: str, notes: str) -> None:
        """The bot's verdict, as soon as it is reached, so a dropped call keeps it."""

    def add_do_not_call(self, phone: str, reason: str) -> None:
        """The person asked never to be called again: honoured at once."""

    def record_outcome(self, lead_id: int, disposition: str, notes: str,
                       callback_at: datetime | None) -> None:
        """The verdict for the lead the call was for: the product decides retries and callbacks."""

    def transfer_refusal(self, call_id: int) -> TransferAnswer | None:
        """Why `transfer_call` would refuse now, if the product knows before it tries (the
        call not live, no transfer targets, outside agent hours); None if it could start.
        Starts nothing: the session asks before it tells the caller to hold."""

    def transfer_call(self, call_id: int, reason: str, summary: str) -> TransferAnswer:
        """Hand the caller to a person (the campaign's transfer targets); `summary` is one
        line for the agent. Started, the call is redirected and this stream ends."""

    def taken_over(self, call_id: int, since: datetime) -> bool:
        """Whether someone else (a staff member) handed the call to a person since `since`:
        the redirect ends this stream as the caller hanging up would."""

    def agent_briefed(self, call_id: int) -> None:
        """The briefing bot on an agent's leg (parameters role="agent_briefing") is done:
        the product joins the agent to the waiting caller."""

    def finish_call(self, call_id: int, *, disposition: str, notes: str, summary: str,
                    metrics: dict, recording: Recording | None) -> None:
        """The call's last word: its outcome, summary, latency figures and recording."""
