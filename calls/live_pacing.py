"""How often the dashboard socket talks: a busy campaign changes many times a second, a page
needs to hear of it a few times a second at most.

- `Outbox`: one per socket. Events wait at most FLUSH_SECONDS and go out together as one
  {"type": "batch", "events": [...]} message; a newer state of the same thing (a call, a
  campaign's figures) replaces the older one still waiting.
- `FigureRefresher`: one per process. A call event for a campaign makes it recompute that
  campaign's figures from the database at most once per FIGURES_SECONDS, however many calls
  moved and however many pages in this process watch it, and hands them to those pages.
  The dearer parts (the transfer figures, the "Before it can resume" notice) only when the
  campaign moved, its settings or leads changed, or a hand-off moved; between hand-offs
  calls answered change the transfer rate's denominator, caught up every PARTS_SECONDS."""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from channels.db import database_sync_to_async

from calls.models import Call

logger = logging.getLogger(__name__)

FLUSH_SECONDS = 0.25  # at most four messages a second per page
FIGURES_SECONDS = 1.0  # a campaign's figures (a few grouped queries) at most once a second
# The transfer figures (an aggregate over every call of the campaign) while only calls move.
PARTS_SECONDS = 10.0
# A page shows 50 leads; the cap keeps one socket from asking for thousands of rows.
MAX_WATCHED_LEADS = 200


def _status_rank(message: dict) -> int:
    return Call.STATUS_RANK.get(message.get("call", {}).get("status"), 0)


class Outbox:
    def __init__(self, send: Callable[[dict], Awaitable[None]]):
        self._send = send
        self._waiting: dict[tuple, dict] = {}
        self._flush: asyncio.TimerHandle | asyncio.Task | None = None
        self._last_flush = 0.0

    def put(self, key: tuple, message: dict) -> None:
        """Queue `message` under `key` (("call", 7), ("line", 93), ("figures", 3) …): it
        replaces a waiting one, except that a call's update never replaces a later status."""
        waiting = self._waiting.get(key)
        if waiting and message["type"] == "campaign.figures":
            # Newer figures, and the rows and parts of both.
            for part in ("leads", "html"):
                message["figures"][part] = waiting["figures"][part] | message["figures"][part]
        older = message["type"] == "call.update" and waiting and _status_rank(message) < _status_rank(waiting)
        if not older:
            self._waiting[key] = message
        if self._flush is None:
            delay = max(0.0, self._last_flush + FLUSH_SECONDS - time.monotonic())
            self._flush = asyncio.get_running_loop().create_task(self._flush_after(delay))

    async def _flush_after(self, delay: float) -> None:
        await asyncio.sleep(delay)
        events, self._waiting, self._flush = list(self._waiting.values()), {}, None
        self._last_flush = time.monotonic()
        if events:
            await self._send({"type": "batch", "events": events})

    def close(self) -> None:
        if self._flush is not None:
            self._flush.cancel()
            self._flush = None


class _Watched:
    def __init__(self):
        self.pages: dict[object, tuple[bool, frozenset[int]]] = {}  # page → (wants figures, its leads)
        self.changed_leads: set[int] = set()
        self.every_lead = False  # an import: every row the pages show may have changed
        self.parts_stale = False  # a move, settings, an import or a hand-off since the parts
        self.calls_moved = False  # since the parts were last computed
        self.parts_run = time.monotonic()  # the page was just rendered, or caught up, with them
        self.task: asyncio.Task | asyncio.TimerHandle | None = None
        self.last_run = 0.0


class FigureRefresher:
    def __init__(self):
        self._campaigns: dict[int, _Watched] = {}
        self._figures = self._summary = None

    def provide(self, figures, summary) -> None:
        """What computes the figures (dashboard.live_figures, which sits above calls)."""
        self._figures, self._summary = figures, summary

    def watch(self, campaign_id: int, page, *, figures: bool, leads: list[int]) -> None:
        """`page` has .outbox; `figures`: it shows the campaign page's charts and rows."""
        watched = self._campaigns.setdefault(campaign_id, _Watched())
        watched.pages[page] = (figures, frozenset(leads[:MAX_WATCHED_LEADS]))

    def forget(self, page, campaign_ids=None) -> None:
        for campaign_id in list(self._campaigns if campaign_ids is None else campaign_ids):
            watched = self._campaigns.get(campaign_id)
            if watched is None:
                continue
            watched.pages.pop(page, None)
            if not watched.pages:
                if watched.task:
                    watched.task.cancel()
                del self._campaigns[campaign_id]

    def changed(self, campaign_id: int, lead_id: int | None = None, *, every_lead: bool = False,
                parts: bool = False) -> None:
        """Something of this campaign moved (every page watching it reports the same event):
        a call (of `lead_id`), or with `parts` the campaign itself, its settings or leads
        (`every_lead`), or a hand-off."""
        watched = self._campaigns.get(campaign_id)
        if watched is None:
            return
        if lead_id:
            watched.changed_leads.add(lead_id)
        watched.every_lead |= every_lead
        watched.parts_stale |= parts
        watched.calls_moved |= not parts
        if isinstance(watched.task, asyncio.TimerHandle):  # only the parts' catch-up was due
            watched.task.cancel()
            watched.task = None
        if watched.task is None:
            watched.task = asyncio.get_running_loop().create_task(self._refresh(campaign_id, watched))

    async def _refresh(self, campaign_id: int, watched: _Watched) -> None:
        await asyncio.sleep(max(0.0, watched.last_run + FIGURES_SECONDS - time.monotonic()))
        # From here on a new change schedules the next refresh: nothing committed after this
        # read is missed, and nothing committed before it waits for another.
        changed, watched.changed_leads, watched.task = watched.changed_leads, set(), None
        every_lead, watched.every_lead = watched.every_lead, False
        watched.last_run = now = time.monotonic()
        parts = watched.parts_stale or (watched.calls_moved and now >= watched.parts_run + PARTS_SECONDS)
        if parts:
            watched.parts_stale = watched.calls_moved = False
            watched.parts_run = now
        elif watched.calls_moved:  # calls moved, the parts not due yet: they will be then
            watched.task = asyncio.get_running_loop().call_later(
                watched.parts_run + PARTS_SECONDS - now, self.changed, campaign_id)
        pages = dict(watched.pages)
        shown = set().union(*(leads for full, leads in pages.values() if full))
        shown = shown if every_lead else shown & changed
        try:
            if any(full for full, _ in pages.values()):
                figures = await database_sync_to_async(self._figures)(campaign_id, sorted(shown), parts=parts)
                overview = figures and figures["campaign"]
            else:
                figures, overview = None, await database_sync_to_async(self._summary)(campaign_id)
        except Exception:
            logger.exception("could not refresh the figures of campaign %s", campaign_id)
            return
        if overview is None:
            return
        for page, (full, leads) in pages.items():
            if full:
                mine = {k: v for k, v in figures["leads"].items() if int(k) in leads}
                message = {"type": "campaign.figures", "figures": figures | {"leads": mine}}
                page.outbox.put(("figures", campaign_id), message)
            else:
                page.outbox.put(("campaign", campaign_id), {"type": "campaign.update", "campaign": overview})


refresher = FigureRefresher()
