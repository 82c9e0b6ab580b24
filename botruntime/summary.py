"""The local stack's after-call summary: one paragraph from the transcript and outcome."""

from __future__ import annotations

from botruntime.outcomes import Disposition
from botruntime.store import CallContext


def local_summary(call: CallContext, transcript: list[tuple[str, str]], disposition: str, outcome) -> str:
    who = call.customer.get("full_name") or call.phone or "the caller"
    direction = "called" if call.direction == "outbound" else "took a call from"
    about = f" for {call.campaign_name}" if call.campaign_name else ""
    said = [text for speaker, text in transcript if speaker == "caller"]
    label = Disposition(disposition).label if disposition in Disposition.values else disposition
    parts = [f"The bot {direction} {who}{about}."]
    if said:
        quoted = "; ".join(f'"{text}"' for text in said[:3])
        parts.append(f"The caller said {quoted}.")
    else:
        parts.append("The caller said nothing the bot could understand.")
    parts.append(f"Outcome: {label}.")
    if outcome.callback_at:
        parts.append(f"Call back at {outcome.callback_at:%A %d %B %H:%M %Z}.")
    if disposition == Disposition.DO_NOT_CALL:
        parts.append("The number was added to the do-not-call list.")
    return " ".join(parts)
