"""Live updates over the Channels layer: one group per campaign, one per call, and one for
the bot session that holds a call's media stream. Everything is sent after the database
commit, so a page that reacts to an event always finds the rows it is told about."""

import asyncio
import os
import threading

from channels.layers import get_channel_layer
from django.db import transaction

from calls.models import Call, TranscriptLine


def campaign_group(campaign_id: int) -> str:
    return f"campaign-{campaign_id}"


def call_group(call_id: int) -> str:
    return f"call-{call_id}"


def bot_group(call_sid: str) -> str:
    """The live bot session of a call (AMD results, hang-up requests) — keyed by CallSid
    because Twilio's callbacks name calls that way."""
    return f"bot-{call_sid}"


def call_payload(call: Call) -> dict:
    customer = call.customer
    return {
        "id": call.pk,
        "call_sid": call.call_sid or "",
        "direction": call.direction,
        "status": call.status,
        "status_display": call.get_status_display(),
        "is_live": call.is_live,
        "campaign_id": call.campaign_id,
        "lead_id": call.lead_id,
        "customer_name": customer.full_name if customer else "",
        "phone": customer.phone if customer else (call.to_number or call.from_number),
        "answered_by": call.answered_by,
        "answered_at": call.answered_at.isoformat() if call.answered_at else None,
        "ended_at": call.ended_at.isoformat() if call.ended_at else None,
        "duration_seconds": call.duration_seconds,
        "disposition": call.disposition,
        "disposition_display": call.get_disposition_display() if call.disposition else "",
        "error_code": call.error_code,
        "transfer_of": call.transfer_of_id,  # a warm transfer's agent leg: of which call
    }


def transcript_payload(line: TranscriptLine) -> dict:
    return {
        "id": line.pk,
        "call_id": line.call_id,
        "speaker": line.speaker,
        "text": line.text,
        "offset_ms": line.offset_ms,
        # Only a bot line the caller talked over has an unheard rest.
        **({"unheard": line.unheard} if line.unheard else {}),
    }


def _groups_for(call: Call) -> list[str]:
    groups = [call_group(call.pk)]
    if call.campaign_id and not call.is_test:  # a test call is on no campaign page
        groups.append(campaign_group(call.campaign_id))
    return groups


SEND_TIMEOUT_SECONDS = 5
_sender_lock = threading.Lock()
_sender: tuple[int, asyncio.AbstractEventLoop] | None = None


def _sender_loop() -> asyncio.AbstractEventLoop:
    """An event loop in a daemon thread of its own, one per process (a forked worker makes
    its own). The channel layer keeps its Redis connections per event loop: async_to_sync
    ran each send on a new loop, over new connections, at ~5 ms a send; this loop's stay open."""
    global _sender
    with _sender_lock:
        if _sender is None or _sender[0] != os.getpid():
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, daemon=True, name="live-sender").start()
            _sender = (os.getpid(), loop)
        return _sender[1]


def _send(deliveries: list[tuple[str, dict]]) -> None:
    async def send_all():
        layer = get_channel_layer()
        for group, message in deliveries:
            await layer.group_send(group, message)

    asyncio.run_coroutine_threadsafe(send_all(), _sender_loop()).result(SEND_TIMEOUT_SECONDS)


def _send_after_commit(deliveries: list[tuple[str, dict]]) -> None:
    """Send (group, message) pairs, in order, once the transaction commits. A failed send is
    logged, not raised: what was committed stands, and the pages catch up on their next poll."""
    transaction.on_commit(lambda: _send(deliveries), robust=True)


def _call_update(call: Call, transfer: bool = False) -> list[tuple[str, dict]]:
    message = {"type": "call.update", "call": call_payload(call)} | ({"transfer": True} if transfer else {})
    return [(group, message) for group in _groups_for(call)]


def publish_call(call: Call, *, transfer: bool = False) -> None:
    """Tell the call's and its campaign's pages that the call changed; `transfer`: a hand-off
    to a person moved with it (an attempt opened, answered, ended), which changes the
    campaign's transfer figures (calls.live_pacing recomputes those only then)."""
    _send_after_commit(_call_update(call, transfer))


def publish_calls(calls: list[Call]) -> None:
    _send_after_commit([delivery for call in calls for delivery in _call_update(call)])


def publish_new_calls(calls: list[Call]) -> None:
    """A dispatch tick's new calls, in one send, to their campaign's pages only: a call
    that did not exist a moment ago has no page of its own open yet."""
    _send_after_commit([
        (campaign_group(call.campaign_id), {"type": "call.update", "call": call_payload(call)})
        for call in calls
    ])


def publish_transcript(line: TranscriptLine) -> None:
    message = {"type": "transcript.line", "line": transcript_payload(line)}
    _send_after_commit([(group, message) for group in _groups_for(line.call)])


def tell_bot(call_sid: str, message: dict) -> None:
    """Send an event (e.g. {"type": "amd.result", "answered_by": "machine_end_beep"}) to the
    bot session holding this call's media stream, if there is one."""
    _send_after_commit([(bot_group(call_sid), message)])


def publish_campaign(campaign_id: int, summary: dict, timeline_html: str | None = None) -> None:
    """Tell a campaign's pages that its status or progress changed; `summary` is
    dashboard.stats.campaign_summary(...) (status, lead counts, live calls, answer rate).
    A move (paused, resumed …) also sends its timeline, as the page renders it."""
    deliveries = [(campaign_group(campaign_id), {"type": "campaign.update", "campaign": summary})]
    if timeline_html is not None:
        deliveries.append((campaign_group(campaign_id),
                           {"type": "campaign.timeline", "campaign_id": campaign_id, "html": timeline_html}))
    _send_after_commit(deliveries)


def publish_leads_changed(campaign_id: int) -> None:
    """Tell a campaign's pages that its leads changed (an import's batch): each web process
    reads the figures again for the pages it holds, at most once a second, and only if one
    watches (calls.live_pacing), so a long import into an unwatched campaign costs nothing."""
    message = {"type": "campaign.leads", "campaign_id": campaign_id}
    _send_after_commit([(campaign_group(campaign_id), message)])


def publish_held(campaign_ids: list[int]) -> None:
    """Tell these campaigns' pages that why calls are held changed (calls.capacity): each web
    process reads the figures again for the pages it holds, the notice with them."""
    _send_after_commit([(campaign_group(campaign_id), {"type": "campaign.held", "campaign_id": campaign_id})
                        for campaign_id in campaign_ids])
