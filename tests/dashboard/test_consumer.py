"""The dashboard WebSocket through the real ASGI stack (session auth, Origin check) and the
real channels-redis layer: staff receive the events of what they subscribed to, nothing else."""

import asyncio

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.db import transaction

from calls import capacity, live
from calls.models import Listening
from calls.tasks import dispatch_tick
from campaigns.models import Lead
from common.redis_client import shared_redis
from dialer_site.asgi import application
from tests import factory
from tests.imports.conftest import import_now

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


def session_cookie(client, user) -> str:
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def communicator(cookie: str | None = None, origin: str = "http://testserver") -> WebsocketCommunicator:
    headers = [(b"host", b"testserver"), (b"origin", origin.encode())]
    if cookie:
        headers.append((b"cookie", f"{settings.SESSION_COOKIE_NAME}={cookie}".encode()))
    return WebsocketCommunicator(application, "/ws/dashboard/", headers=headers)


async def subscribe(ws, **ids):
    await ws.send_json_to({"action": "subscribe", **ids})
    return await ws.receive_json_from(timeout=3)


async def receive_events(ws, timeout=3) -> list[dict]:
    """The events of the next batch the socket sends."""
    message = await ws.receive_json_from(timeout=timeout)
    assert message["type"] == "batch", message
    return message["events"]


async def receive_event(ws, kind: str) -> dict:
    """The next event of this kind; the campaign summaries a call's change brings are
    passed over (test_it_sends_a_campaigns_summary_when_its_calls_move looks at those)."""
    while True:
        for event in await receive_events(ws):
            if event["type"] == kind:
                return event
            assert event["type"] == "campaign.update", event


@sync_to_async
def publish(call, text=None):
    with transaction.atomic():
        if text:
            live.publish_transcript(factory.line(call, "caller", text, 5000))
        else:
            live.publish_call(call)


async def test_it_refuses_anonymous_visitors_before_accepting():
    ws = communicator()
    connected, _ = await ws.connect()
    assert not connected
    await ws.disconnect()


async def test_it_refuses_signed_in_non_staff(client, stranger):
    ws = communicator(await sync_to_async(session_cookie)(client, stranger))
    connected, _ = await ws.connect()
    assert not connected
    await ws.disconnect()


async def test_it_refuses_a_foreign_origin(client, staff):
    ws = communicator(await sync_to_async(session_cookie)(client, staff), origin="https://evil.example")
    connected, _ = await ws.connect()
    assert not connected
    await ws.disconnect()


async def test_staff_receive_their_campaigns_events_and_not_others(client, staff):
    cookie = await sync_to_async(session_cookie)(client, staff)
    mine = await sync_to_async(factory.campaign)(name="Mine")
    other = await sync_to_async(factory.campaign)(name="Other")
    call = await sync_to_async(lambda: factory.call(factory.lead(mine), status="ringing"))()
    stray = await sync_to_async(lambda: factory.call(factory.lead(other), status="ringing"))()

    ws = communicator(cookie)
    connected, _ = await ws.connect()
    assert connected
    assert await subscribe(ws, campaigns=[mine.pk, 999999]) == {
        "type": "subscribed", "campaigns": [mine.pk], "calls": []}

    await publish(stray)
    await publish(call)
    message = await receive_event(ws, "call.update")
    assert message["type"] == "call.update"
    assert message["call"]["id"] == call.pk and message["call"]["status"] == "ringing"

    await publish(call, text="Who is this?")
    message = await receive_event(ws, "transcript.line")
    assert message == {"type": "transcript.line", "line": {
        "id": message["line"]["id"], "call_id": call.pk, "speaker": "caller", "text": "Who is this?",
        "offset_ms": 5000}}
    await asyncio.sleep(0.2)
    assert await ws.receive_nothing(timeout=0.3)  # nothing from the other campaign
    await ws.disconnect()


async def test_a_call_page_receives_only_its_call(client, staff):
    cookie = await sync_to_async(session_cookie)(client, staff)
    campaign = await sync_to_async(factory.campaign)()
    call = await sync_to_async(lambda: factory.call(factory.lead(campaign)))()
    sibling = await sync_to_async(lambda: factory.call(factory.lead(campaign)))()
    ws = communicator(cookie)
    await ws.connect()
    assert (await subscribe(ws, calls=[call.pk]))["calls"] == [call.pk]
    await publish(sibling, text="not for you")
    await publish(call, text="for you")
    message = await receive_event(ws, "transcript.line")
    assert message["line"]["text"] == "for you"
    assert await ws.receive_nothing(timeout=0.3)
    await ws.send_json_to({"action": "unsubscribe", "calls": [call.pk]})
    assert (await ws.receive_json_from(timeout=3))["type"] == "unsubscribed"
    await publish(call, text="after unsubscribing")
    assert await ws.receive_nothing(timeout=0.5)
    await ws.disconnect()


async def test_it_forwards_a_campaigns_move_with_its_timeline_as_the_page_renders_it(client, staff):
    cookie = await sync_to_async(session_cookie)(client, staff)
    campaign = await sync_to_async(factory.campaign)(status="running")
    ws = communicator(cookie)
    await ws.connect()
    await subscribe(ws, campaigns=[campaign.pk])

    @sync_to_async
    def pause():
        from campaigns import lifecycle

        with transaction.atomic():
            lifecycle.pause(campaign, "Lunch break", user=staff)

    await pause()
    events = {}
    while "campaign.timeline" not in events:
        events |= {event["type"]: event for event in await receive_events(ws)}
    assert events["campaign.update"]["campaign"]["status"] == "paused"
    timeline = events["campaign.timeline"]
    assert timeline["campaign_id"] == campaign.pk
    assert "<strong>Paused</strong> by alice: Lunch break" in timeline["html"]
    await ws.disconnect()


async def test_an_import_into_a_paused_campaign_reaches_its_page(client, staff):
    cookie = await sync_to_async(session_cookie)(client, staff)
    campaign = await sync_to_async(factory.campaign)(status="paused")
    # Nobody left to call: the page's notice asks for contacts.
    ann = await sync_to_async(lambda: factory.lead(campaign, state="done", customer=factory.customer(
        "+12025550101", first_name="Ann")))()
    ws = communicator(cookie)
    await ws.connect()
    await subscribe(ws, campaigns=[campaign.pk], figures=True, leads=[ann.pk])

    await sync_to_async(import_now)("phone,first_name\n+12025550101,Annie\n+12025550102,Bob\n", campaign)
    figures = (await receive_event(ws, "campaign.figures"))["figures"]
    assert (figures["campaign"]["lead_total"], figures["campaign"]["status"]) == (2, "paused")
    assert "Add at least one contact" not in figures["html"]["campaign-problems"]
    assert "Annie" in figures["leads"][str(ann.pk)]  # the row the page shows, renamed by the import
    await ws.disconnect()


async def test_a_call_moving_leaves_the_transfer_figures_and_notice_alone_a_hand_off_does_not(client, staff):
    cookie = await sync_to_async(session_cookie)(client, staff)
    campaign = await sync_to_async(factory.campaign)(status="running")
    lead = await sync_to_async(factory.lead)(campaign, state="in_call")
    call = await sync_to_async(factory.call)(lead, status="ringing")
    ws = communicator(cookie)
    await ws.connect()
    await subscribe(ws, campaigns=[campaign.pk], figures=True, leads=[call.lead_id])

    @sync_to_async
    def move(status, **kwargs):
        with transaction.atomic():
            call.status = status
            call.save(update_fields=["status"])
            live.publish_call(call, **kwargs)

    async def next_figures():
        while True:
            for event in await receive_events(ws):
                if event["type"] == "campaign.figures":
                    return event["figures"]

    await move("in-progress")
    figures = await next_figures()
    assert figures["campaign"]["live_calls"] == 1 and figures["leads"]
    assert set(figures["html"]) == {"campaign-held"}  # no notice (running), no transfer figures
    await move("in-progress", transfer=True)  # an agent is rung
    figures = await next_figures()
    assert set(figures["html"]) == {"campaign-held", "campaign-problems", "transfer-figures"}
    await ws.disconnect()


async def test_the_calls_are_held_notice_follows_the_web_processes(client, staff):
    cookie = await sync_to_async(session_cookie)(client, staff)
    campaign = await sync_to_async(factory.campaign)(status="running")
    await sync_to_async(lambda: shared_redis().delete(capacity.HELD_KEY))()
    ws = communicator(cookie)
    await ws.connect()
    await subscribe(ws, campaigns=[campaign.pk], figures=True, leads=[])

    # The dispatch tick finds no web process live (none beats in this test's Redis).
    await sync_to_async(dispatch_tick)()
    while True:
        figures = [e["figures"] for e in await receive_events(ws) if e["type"] == "campaign.figures"]
        if figures:
            break
    assert "<strong>Calls are held:</strong> No web process is live" in figures[0]["html"]["campaign-held"]
    await ws.disconnect()


async def test_it_stops_subscribing_a_user_who_lost_staff(client, staff):
    cookie = await sync_to_async(session_cookie)(client, staff)
    campaign = await sync_to_async(factory.campaign)()
    ws = communicator(cookie)
    await ws.connect()
    staff.is_staff = False
    await sync_to_async(staff.save)()
    reply = await subscribe(ws, campaigns=[campaign.pk])
    assert reply == {"type": "subscribed", "campaigns": [], "calls": []}
    await ws.disconnect()


async def test_it_answers_nonsense_with_an_error(client, staff):
    ws = communicator(await sync_to_async(session_cookie)(client, staff))
    await ws.connect()
    await ws.send_json_to({"action": "format-disk"})
    assert (await ws.receive_json_from(timeout=3))["type"] == "error"
    await ws.disconnect()


async def test_a_busy_campaign_reaches_a_page_a_few_times_a_second_with_its_latest_figures(client, staff):
    cookie = await sync_to_async(session_cookie)(client, staff)
    campaign = await sync_to_async(factory.campaign)()
    leads = await sync_to_async(lambda: [factory.lead(campaign) for _ in range(30)])()
    calls = await sync_to_async(lambda: [factory.call(lead, status="ringing") for lead in leads])()
    ws = communicator(cookie)
    await ws.connect()
    shown = [lead.pk for lead in leads[:5]]
    await subscribe(ws, campaigns=[campaign.pk], figures=True, leads=shown)

    @sync_to_async
    def answer_all():
        for call in calls:  # thirty commits, each telling the pages
            with transaction.atomic():
                call.status = "in-progress"
                call.save(update_fields=["status"])
                Lead.objects.filter(pk=call.lead_id).update(state="in_call", attempts=1)
                live.publish_call(call)

    started = asyncio.get_running_loop().time()
    await answer_all()
    batches, figures = [], []
    while True:  # until the figures show every lead in a call
        events = await receive_events(ws)
        batches.append(events)
        figures += [e["figures"] for e in events if e["type"] == "campaign.figures"]
        rows = "".join(html for f in figures for html in f["leads"].values())
        if figures and figures[-1]["campaign"]["live_calls"] == 30 and rows.count("state-in_call") >= 5:
            break
    seconds = asyncio.get_running_loop().time() - started
    updates = {e["call"]["id"]: e["call"]["status"] for b in batches for e in b if e["type"] == "call.update"}
    assert updates == {call.pk: "in-progress" for call in calls}
    # Sixty-odd events in a handful of messages, at most four a second.
    assert len(batches) <= 4 * seconds + 2, (len(batches), seconds)
    assert len(figures) <= seconds + 2, (len(figures), seconds)
    assert {int(i) for f in figures for i in f["leads"]} <= set(shown)  # only the rows the page shows
    await ws.disconnect()


async def test_listening_to_a_call_that_is_not_live_is_refused(client, staff):
    cookie = await sync_to_async(session_cookie)(client, staff)
    ended = await sync_to_async(lambda: factory.call(factory.lead(factory.campaign()), status="completed"))()
    ws = communicator(cookie)
    await ws.connect()
    await ws.send_json_to({"action": "listen", "call": ended.pk})
    assert await ws.receive_json_from(timeout=3) == {
        "type": "error", "listen": True, "message": "This call is not live."}
    assert not await sync_to_async(Listening.objects.exists)()
    await ws.disconnect()
