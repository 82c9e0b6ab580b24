"""The dashboard WebSocket through the real ASGI stack (session auth, Origin check) and the
real channels-redis layer: staff receive the events of what they subscribed to, nothing else."""

import asyncio

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.db import transaction

from calls import live
from dialer_site.asgi import application
from tests import factory

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
    message = await ws.receive_json_from(timeout=3)
    assert message["type"] == "call.update"
    assert message["call"]["id"] == call.pk and message["call"]["status"] == "ringing"

    await publish(call, text="Who is this?")
    message = await ws.receive_json_from(timeout=3)
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
    message = await ws.receive_json_from(timeout=3)
    assert message["line"]["text"] == "for you"
    assert await ws.receive_nothing(timeout=0.3)
    await ws.send_json_to({"action": "unsubscribe", "calls": [call.pk]})
    assert (await ws.receive_json_from(timeout=3))["type"] == "unsubscribed"
    await publish(call, text="after unsubscribing")
    assert await ws.receive_nothing(timeout=0.5)
    await ws.disconnect()


async def test_it_forwards_campaign_updates(client, staff):
    cookie = await sync_to_async(session_cookie)(client, staff)
    campaign = await sync_to_async(factory.campaign)()
    ws = communicator(cookie)
    await ws.connect()
    await subscribe(ws, campaigns=[campaign.pk])

    @sync_to_async
    def pause():
        from dashboard import stats

        with transaction.atomic():
            live.publish_campaign(campaign.pk, stats.campaign_summary(campaign))

    await pause()
    message = await ws.receive_json_from(timeout=3)
    assert message["type"] == "campaign.update" and message["campaign"]["id"] == campaign.pk
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
