""""Talk in the browser": a staff member's microphone on a campaign's bot, nothing dialled.

The page speaks Twilio's Media Streams protocol over this socket (μ-law 8 kHz `media`, and
`mark` echoes once the bot's audio before them has played), so the session is the very one
a phone call gets — the campaign's voice stack, script or prompt, and tools — on the same
transport. The server starts it (a browser's `start` is refused): the call is a test call
of its own (calls.test_calls), and the socket is staff-only like the dashboard's (the
session cookie, checked before accepting, and the Origin, checked by asgi.py). The page
also hears the transcript and the tools the bot uses as they happen."""

import json
import uuid
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from django.urls import reverse

from botruntime.session import StreamStart
from calls import test_calls
from calls.bot_store import DatabaseCallStore
from calls.consumers import BotStreamConsumer
from calls.live import call_group
from calls.models import Call
from campaigns.models import Campaign


def _open_session(user, campaign_id: int, lead_id: str) -> Call | None:
    user.refresh_from_db(fields=["is_staff", "is_active"])
    campaign = Campaign.objects.filter(pk=campaign_id).first()
    if not (user.is_staff and user.is_active) or campaign is None:
        return None
    return test_calls.browser_session(campaign, test_calls.lead_of(campaign, lead_id), user)


class BrowserTalkConsumer(BotStreamConsumer):
    call: Call | None = None

    async def connect(self):
        user = self.scope.get("user")
        if not (user and user.is_authenticated and user.is_staff):
            await self.close()  # before accept: the handshake is refused with 403
            return
        if not await self._admit():  # a browser's session weighs what a call's does
            return
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        self.call = await database_sync_to_async(_open_session)(
            user, self.scope["url_route"]["kwargs"]["campaign_id"], (query.get("lead") or [""])[0])
        if self.call is None:
            await self.close()
            return
        await self._join(call_group(self.call.pk))
        await self._send_text(json.dumps({"type": "session", "call": self.call.pk,
                                          "url": reverse("call-detail", args=[self.call.pk])}))
        info = StreamStart(stream_sid=f"MZ{uuid.uuid4().hex}", call_sid=self.call.call_sid, account_sid="",
                           custom_parameters={"call_id": str(self.call.pk)})
        self._begin(info, DatabaseCallStore(), hang_up=False).on_tool = self._tool_used

    async def _start(self, message: dict, raw: str):
        return self._drop(raw, "a start from the browser (the server starts the session)")

    async def disconnect(self, code):
        if self.call is not None:
            await database_sync_to_async(test_calls.end_browser_session)(self.call.pk)

    async def _tool_used(self, name: str, arguments: dict, result: dict) -> None:
        await self._send_text(json.dumps({"type": "tool.call", "name": name, "arguments": arguments,
                                          "result": result}, default=str))

    # -- the call's group (calls.live): what the call page would show ----------------------

    async def call_update(self, event):
        await self._send_text(json.dumps({"type": "call.update", "call": event["call"]}))

    async def transcript_line(self, event):
        await self._send_text(json.dumps({"type": "transcript.line", "line": event["line"]}))
