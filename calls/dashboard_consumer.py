"""The staff dashboard's WebSocket: a page subscribes to the campaigns and calls it shows
and receives their events (sent by calls.live after each commit) as JSON.

Protocol (client → server):
    {"action": "subscribe", "campaigns": [3], "calls": [41, 42]}
        "figures": true (the campaign's own page) adds the charts' data, Recent calls and
        the rows of "leads": [ids the page shows] to what the campaigns' pages receive.
    {"action": "unsubscribe", "campaigns": [3], "calls": [41]}
Server → client: {"type": "subscribed", "campaigns": [...], "calls": [...]} once the groups
are joined (the page then catches up from the database), then the group events, at most a
few times a second, as {"type": "batch", "events": [...]} (calls.live_pacing) of:
{"type": "call.update", "call": {...}}, {"type": "transcript.line", "line": {...}},
{"type": "campaign.update", "campaign": {...}} (status, progress, outcomes, live calls) and
{"type": "campaign.figures", "figures": {...}} (campaigns.live_figures); and
{"type": "error", "message": "..."}."""

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from calls.live import call_group, campaign_group
from calls.live_pacing import Outbox, refresher
from calls.models import Call
from campaigns.models import Campaign

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


class DashboardConsumer(AsyncJsonWebsocketConsumer):
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

    async def receive_json(self, content, **kwargs):
        action = content.get("action") if isinstance(content, dict) else None
        if action == "subscribe":
            await self.subscribe(_ids(content.get("campaigns")), _ids(content.get("calls")),
                                 figures=content.get("figures") is True, leads=_ids(content.get("leads")))
        elif action == "unsubscribe":
            await self.unsubscribe(_ids(content.get("campaigns")), _ids(content.get("calls")))
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
    # change also asks for its campaign's figures again.
    async def call_update(self, event):
        call = event["call"]
        self.outbox.put(("call", call["id"]), {"type": "call.update", "call": call})
        if call.get("campaign_id"):
            refresher.changed(call["campaign_id"], call.get("lead_id"))

    async def transcript_line(self, event):
        line = event["line"]
        self.outbox.put(("line", line["id"]), {"type": "transcript.line", "line": line})

    async def campaign_update(self, event):
        campaign = event["campaign"]
        self.outbox.put(("campaign", campaign["id"]), {"type": "campaign.update", "campaign": campaign})
