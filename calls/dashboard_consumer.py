"""The staff dashboard's WebSocket: a page subscribes to the campaigns and calls it shows
and receives their events (sent by calls.live after each commit) as JSON.

Protocol (client → server):
    {"action": "subscribe", "campaigns": [3], "calls": [41, 42]}
    {"action": "unsubscribe", "campaigns": [3], "calls": [41]}
Server → client: {"type": "subscribed", "campaigns": [...], "calls": [...]} once the groups
are joined (the page then catches up from the database), then the group events as they come:
{"type": "call.update", "call": {...}}, {"type": "transcript.line", "line": {...}},
{"type": "campaign.update", "campaign": {...}}, and {"type": "error", "message": "..."}."""

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from calls.live import call_group, campaign_group
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
        await self.accept()

    async def receive_json(self, content, **kwargs):
        action = content.get("action") if isinstance(content, dict) else None
        if action == "subscribe":
            await self.subscribe(_ids(content.get("campaigns")), _ids(content.get("calls")))
        elif action == "unsubscribe":
            await self.unsubscribe(_ids(content.get("campaigns")), _ids(content.get("calls")))
        else:
            await self.send_json({"type": "error", "message": "Unknown action."})

    async def subscribe(self, campaign_ids: list[int], call_ids: list[int]):
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
        await self.send_json({"type": "subscribed", "campaigns": campaigns, "calls": calls})

    async def unsubscribe(self, campaign_ids: list[int], call_ids: list[int]):
        groups = [campaign_group(i) for i in campaign_ids] + [call_group(i) for i in call_ids]
        for group in set(groups) & set(self.groups):
            await self.channel_layer.group_discard(group, self.channel_name)
            self.groups.remove(group)
        await self.send_json({"type": "unsubscribed", "campaigns": campaign_ids, "calls": call_ids})

    # One handler per group event type; each forwards the event to the browser as it is.
    async def call_update(self, event):
        await self.send_json({"type": "call.update", "call": event["call"]})

    async def transcript_line(self, event):
        await self.send_json({"type": "transcript.line", "line": event["line"]})

    async def campaign_update(self, event):
        await self.send_json({"type": "campaign.update", "campaign": event["campaign"]})
