"""The staff dashboard's WebSocket: a page subscribes to the campaigns and calls it shows
and receives their events (sent by calls.live after each commit) as JSON.

Protocol (client → server):
    {"action": "subscribe", "campaigns": [3], "calls": [41, 42]}
        "figures": true (the campaign's own page) adds the charts' data, Recent calls and
        the rows of "leads": [ids the page shows] to what the campaigns' pages receive.
    {"action": "unsubscribe", "campaigns": [3], "calls": [41]}
    {"action": "listen", "call": 41} / {"action": "unlisten"}: hear a live call (calls.listening);
        answered {"type": "listening", "call": 41}, then {"type": "listen.audio", "side":
        "caller"|"bot", "rate": 8000, "pcm": base64 16-bit PCM} unbatched, ten times a second,
        until {"type": "listen.ended"}. Each listen is kept in the audit log (calls.Listening).
Server → client: {"type": "subscribed", "campaigns": [...], "calls": [...]} once the groups
are joined (the page then catches up from the database), then the group events, at most a
few times a second, as {"type": "batch", "events": [...]} (calls.live_pacing) of:
{"type": "call.update", "call": {...}}, {"type": "transcript.line", "line": {...}},
{"type": "campaign.update", "campaign": {...}} (status, progress, outcomes, live calls: also
what an import's "campaign.leads" among the web processes becomes),
{"type": "campaign.timeline", "campaign_id": 3, "html": "<li>…"} (after each move: paused by
the breaker, resumed …) and {"type": "campaign.figures", "figures": {...}}
(dashboard.live_figures); and
{"type": "error", "message": "..."}."""

import asyncio

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.utils import timezone

from calls.listening import RENEW_SECONDS, listen_group
from calls.live import bot_group, call_group, campaign_group
from calls.live_pacing import Outbox, refresher
from calls.models import Call, Listening
from campaigns.models import Campaign, Disposition

# A page shows at most a few dozen campaigns or calls; the cap keeps one socket from
# joining thousands of groups.
MAX_SUBSCRIPTIONS = 200


def _ids(value) -> list[int]:
    if not isinstance(value, list):
        return []
    return [v for v in value if isinstance(v, int) and not isinstance(v, bool) and v > 0]


@database_sync_to_async
def visible_ids(user, campaign_ids: list[int], call_ids: list[int]) -> tuple[list[int], list[int]]:
    """The ids this user may watch: staff (checked again, it may have been revoked since the
    socket opened) see every campaign and call that exists."""
    user.refresh_from_db(fields=["is_staff", "is_active"])
    if not (user.is_staff and user.is_active):
        return [], []
    campaigns = Campaign.objects.filter(pk__in=campaign_ids).values_list("pk", flat=True)
    calls = Call.objects.filter(pk__in=call_ids).values_list("pk", flat=True)
    return sorted(campaigns), sorted(calls)


@database_sync_to_async
def start_listening(user, call_id: int) -> tuple[str, int] | None:
    """(CallSid, audit row id) for a live call with a bot on it that this staff user may hear."""
    user.refresh_from_db(fields=["is_staff", "is_active"])
    if not (user.is_staff and user.is_active):
        return None
    live = Call.objects.live().exclude(call_sid=None)
    call = live.filter(pk=call_id).first()
    if call is None:
        return None
    return call.call_sid, Listening.objects.create(call=call, user=user, username=user.get_username()).pk


@database_sync_to_async
def stop_listening(listening_id: int) -> None:
    Listening.objects.filter(pk=listening_id, ended_at=None).update(ended_at=timezone.now())


class DashboardConsumer(AsyncJsonWebsocketConsumer):
    listening: tuple[str, int, asyncio.Task] | None = None  # (CallSid, audit row, renewer)

    async def connect(self):
        user = self.scope.get("user")
        if not (user and user.is_authenticated and user.is_staff):
            await self.close()  # before accept: the handshake is refused with 403
            return
        self.outbox = Outbox(self.send_json)
        await self.accept()

    async def disconnect(self, code):
        if hasattr(self, "outbox"):
            refresher.forget(self)
            self.outbox.close()
        await self.unlisten()

    async def receive_json(self, content, **kwargs):
        action = content.get("action") if isinstance(content, dict) else None
        if action == "subscribe":
            await self.subscribe(_ids(content.get("campaigns")), _ids(content.get("calls")),
                                 figures=content.get("figures") is True, leads=_ids(content.get("leads")))
        elif action == "unsubscribe":
            await self.unsubscribe(_ids(content.get("campaigns")), _ids(content.get("calls")))
        elif action == "listen" and _ids([content.get("call")]):
            await self.listen(content["call"])
        elif action == "unlisten":
            await self.unlisten()
        else:
            await self.send_json({"type": "error", "message": "Unknown action."})

    async def subscribe(self, campaign_ids: list[int], call_ids: list[int], *, figures=False, leads=()):
        campaigns, calls = await visible_ids(self.scope["user"], campaign_ids, call_ids)
        groups = [campaign_group(i) for i in campaigns] + [call_group(i) for i in calls]
        if len(set(self.groups) | set(groups)) > MAX_SUBSCRIPTIONS:
            await self.send_json({"type": "error", "message": "Too many subscriptions."})
            return
        # Kept in self.groups, which the base class leaves on disconnect.
        for group in groups:
            await self.channel_layer.group_add(group, self.channel_name)
            if group not in self.groups:
                self.groups.append(group)
        for campaign_id in campaigns:
            refresher.watch(campaign_id, self, figures=figures, leads=list(leads))
        await self.send_json({"type": "subscribed", "campaigns": campaigns, "calls": calls})

    async def unsubscribe(self, campaign_ids: list[int], call_ids: list[int]):
        groups = [campaign_group(i) for i in campaign_ids] + [call_group(i) for i in call_ids]
        for group in set(groups) & set(self.groups):
            await self.channel_layer.group_discard(group, self.channel_name)
            self.groups.remove(group)
        refresher.forget(self, campaign_ids)
        await self.send_json({"type": "unsubscribed", "campaigns": campaign_ids, "calls": call_ids})

    # One handler per group event type; each queues the event for the browser, and a call's
    # change also asks for its campaign's figures again (with its transfer figures if the
    # change was a hand-off's: an attempt moved, an agent's leg, a call handed to a person).
    async def call_update(self, event):
        call = event["call"]
        self.outbox.put(("call", call["id"]), {"type": "call.update", "call": call})
        if call.get("campaign_id"):
            hand_off = (event.get("transfer") is True or bool(call.get("transfer_of"))
                        or call.get("disposition") == Disposition.TRANSFERRED)
            refresher.changed(call["campaign_id"], call.get("lead_id"), parts=hand_off)

    async def transcript_line(self, event):
        line = event["line"]
        self.outbox.put(("line", line["id"]), {"type": "transcript.line", "line": line})

    async def campaign_update(self, event):
        campaign = event["campaign"]
        self.outbox.put(("campaign", campaign["id"]), {"type": "campaign.update", "campaign": campaign})
        # A move or saved settings change more than the summary: what the campaign page's
        # notice asks staff to fix before it can resume, so its figures are recomputed too.
        refresher.changed(campaign["id"], parts=True)

    async def campaign_leads(self, event):
        # Leads imported: the figures, the summary, the notice and every lead row the pages show.
        refresher.changed(event["campaign_id"], every_lead=True, parts=True)

    async def campaign_held(self, event):
        # Why calls are held changed (a web process came, went or filled up): the figures
        # bring the campaign page's "Calls are held" notice.
        refresher.changed(event["campaign_id"])

    async def campaign_timeline(self, event):
        self.outbox.put(("timeline", event["campaign_id"]), event)

    # -- listening in -----------------------------------------------------------------------

    async def listen(self, call_id: int):
        await self.unlisten()
        started = await start_listening(self.scope["user"], call_id)
        if started is None:
            await self.send_json({"type": "error", "listen": True, "message": "This call is not live."})
            return
        call_sid, audit = started
        await self.channel_layer.group_add(listen_group(call_sid), self.channel_name)
        renewer = asyncio.get_running_loop().create_task(self._keep_listening(call_sid))
        self.listening = (call_sid, audit, renewer)
        await self.send_json({"type": "listening", "call": call_id})

    async def _keep_listening(self, call_sid: str):
        # The bot's consumer stops sending audio when requests stop coming (a lease).
        while True:
            await self.channel_layer.group_send(bot_group(call_sid), {
                "type": "listen.start", "listener": self.channel_name})
            await asyncio.sleep(RENEW_SECONDS)

    async def unlisten(self):
        if self.listening is None:
            return
        (call_sid, audit, renewer), self.listening = self.listening, None
        renewer.cancel()
        await self.channel_layer.group_send(bot_group(call_sid), {
            "type": "listen.stop", "listener": self.channel_name})
        await self.channel_layer.group_discard(listen_group(call_sid), self.channel_name)
        await stop_listening(audit)

    async def listen_audio(self, event):
        # Not through the outbox: audio is sent as it comes, a tenth of a second at a time.
        await self.send_json({"type": "listen.audio", "side": event["side"], "rate": event["rate"],
                              "pcm": event["pcm"]})

    async def listen_ended(self, event):
        await self.unlisten()
        await self.send_json({"type": "listen.ended"})
