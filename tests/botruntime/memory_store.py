"""A `botruntime.store.CallStore` in memory: a bot session runs against it with no database."""

from dataclasses import dataclass, field
from datetime import datetime

from botruntime.store import CallContext, Recording, Refusal, TransferAnswer


@dataclass
class MemoryCallStore:
    call: CallContext
    linked: list[tuple[str, str, dict]] = field(default_factory=list)
    lines: list[tuple[str, str]] = field(default_factory=list)
    dispositions: list[tuple[str, str]] = field(default_factory=list)
    do_not_call: list[str] = field(default_factory=list)
    outcomes: list[tuple[int, str, datetime | None]] = field(default_factory=list)
    finished: dict = field(default_factory=dict)
    paused: list[tuple[int, str]] = field(default_factory=list)
    # What transfer_call answers: by default a campaign with no one to transfer to.
    transfer_answer: TransferAnswer = field(
        default_factory=lambda: TransferAnswer(started=False, refusal=Refusal.NO_TRANSFER_TARGETS))
    transfers: list[tuple[str, str]] = field(default_factory=list)
    refusal_checks: int = 0
    briefed: list[int] = field(default_factory=list)
    handed_over_by_staff: bool = False

    def link_call(self, call_sid: str, stream_sid: str, parameters: dict) -> CallContext:
        self.linked.append((call_sid, stream_sid, parameters))
        return self.call

    def add_transcript_line(self, call_id: int, speaker: str, text: str, offset_ms: int,
                            unheard: str = "") -> int:
        self.lines.append((speaker, text))
        return len(self.lines)

    def cut_transcript_line(self, line_id: int, heard: str, unheard: str) -> None:
        self.lines[line_id - 1] = (self.lines[line_id - 1][0], heard)

    def pause_campaign(self, campaign_id: int, reason: str) -> None:
        self.paused.append((campaign_id, reason))

    def transcript_lines(self, call_id: int) -> list[tuple[str, str]]:
        return list(self.lines)

    def set_disposition(self, call_id: int, disposition: str, notes: str) -> None:
        self.dispositions.append((disposition, notes))

    def add_do_not_call(self, phone: str, reason: str) -> None:
        self.do_not_call.append(phone)

    def record_outcome(self, lead_id: int, disposition: str, notes: str,
                       callback_at: datetime | None) -> None:
        self.outcomes.append((lead_id, disposition, callback_at))

    def transfer_refusal(self, call_id: int) -> TransferAnswer | None:
        # As the product's: every refusal but Twilio's is known before the call is redirected.
        self.refusal_checks += 1
        answer = self.transfer_answer
        return None if answer.started or answer.refusal == Refusal.FAILED else answer

    def transfer_call(self, call_id: int, reason: str, summary: str) -> TransferAnswer:
        self.transfers.append((reason, summary))
        return self.transfer_answer

    def agent_briefed(self, call_id: int) -> None:
        self.briefed.append(call_id)

    def taken_over(self, call_id: int, since: datetime) -> bool:
        return self.handed_over_by_staff

    def finish_call(self, call_id: int, *, disposition: str, notes: str, summary: str,
                    metrics: dict, recording: Recording | None) -> None:
        self.finished = {"disposition": disposition, "summary": summary, "metrics": metrics,
                         "recording": recording}
