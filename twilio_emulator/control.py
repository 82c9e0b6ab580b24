"""The emulator's own endpoints under /_emulator: health, timelines, inbound calls, a page."""

from __future__ import annotations

import html
import json
from typing import Any

from aiohttp import web

from .web import emulator_of

routes = web.RouteTableDef()


@routes.get("/_emulator/health")
async def health(request: web.Request) -> web.Response:
    emulator = emulator_of(request)
    active = sum(1 for call in emulator.calls.values() if not call.status.is_final)
    return web.json_response({"status": "ok", "account_sid": emulator.account_sid,
                              "calls": len(emulator.calls), "active_calls": active,
                              "cps": emulator.cps, "app_url": emulator.app_url})


@routes.get("/_emulator/calls.json")
async def list_timelines(request: web.Request) -> web.Response:
    emulator = emulator_of(request)
    return web.json_response({"calls": [emulator.call_json(sid) for sid in emulator.calls]})


@routes.get("/_emulator/conferences.json")
async def list_conferences(request: web.Request) -> web.Response:
    """Every conference with its current participants and its timeline (callbacks sent)."""
    conferences = emulator_of(request).conferences
    listed = [c.as_json() for c in conferences.all()] if conferences is not None else []
    return web.json_response({"conferences": listed})


@routes.get("/_emulator/calls/{call_sid}.json")
async def timeline(request: web.Request) -> web.Response:
    snapshot = emulator_of(request).call_json(request.match_info["call_sid"])
    if snapshot is None:
        raise web.HTTPNotFound(text="no such call")
    return web.json_response(snapshot)


@routes.get("/_emulator/calls/{call_sid}/from-app.wav")
async def app_audio(request: web.Request) -> web.StreamResponse:
    emulator = emulator_of(request)
    sid = request.match_info["call_sid"]
    path = emulator.data_dir / "calls" / f"{sid}-from-app.wav"
    if sid not in emulator.calls or not path.exists():
        raise web.HTTPNotFound(text="no audio from the app for this call")
    return web.FileResponse(path, headers={"Content-Type": "audio/x-wav"})


@routes.post("/_emulator/calls/inbound.json")
async def call_in(request: web.Request) -> web.Response:
    """Place an inbound call. JSON {"from", "to", "script"} or form From/To/Say."""
    if request.content_type == "application/json":
        body: dict[str, Any] = await request.json()
        from_, to, script = body.get("from", ""), body.get("to", ""), body.get("script")
    else:
        form = await request.post()
        from_, to = str(form.get("From", "")), str(form.get("To", ""))
        script = [{"say": str(text)} for text in form.getall("Say", [])] or None
    try:
        call = await emulator_of(request).call_in(from_, to, script)
    except ValueError as exc:
        return web.json_response({"message": str(exc)}, status=400)
    return web.json_response({"sid": call.sid, "status": str(call.status)}, status=201)


@routes.post("/_emulator/numbers.json")
async def put_number(request: web.Request) -> web.Response:
    """Add one of the account's numbers or change it: JSON {"phone_number", "friendly_name",
    "voice_url", "refuse_caller_id": 21210 | 21212 | null}."""
    emulator = emulator_of(request)
    try:
        number = emulator.numbers.put(await request.json())
    except ValueError as exc:  # a NumberError, or a body that is not JSON
        return web.json_response({"message": str(exc)}, status=400)
    return web.json_response(number.to_resource(emulator.account_sid), status=201)


@routes.get("/_emulator/")
async def page(request: web.Request) -> web.Response:
    """A read-only overview; ?sid=CA… shows one call's timeline."""
    emulator = emulator_of(request)
    rows = "".join(
        f"<tr><td><a href='?sid={call.sid}'>{call.sid}</a></td>"
        f"<td>{html.escape(call.request.direction)}</td>"
        f"<td>{html.escape(call.request.from_)}</td><td>{html.escape(call.request.to)}</td>"
        f"<td>{html.escape(call.callee_name)}</td><td class='s-{call.status}'>{call.status}</td>"
        f"<td>{call.duration if call.duration is not None else ''}</td>"
        f"<td>{html.escape(call.end_reason)}</td></tr>"
        for call in reversed(list(emulator.calls.values()))
    )
    detail = ""
    sid = request.query.get("sid")
    if sid and (snapshot := emulator.call_json(sid)) is not None:
        timeline = snapshot.pop("timeline")
        entries = "".join(
            f"<tr class='k-{html.escape(entry['kind'])}'><td>{entry['t']:.3f}</td>"
            f"<td>{html.escape(entry['kind'])}</td><td><code>"
            f"{html.escape(json.dumps({k: v for k, v in entry.items() if k not in ('t', 'at', 'kind')}))}"
            f"</code></td></tr>"
            for entry in timeline["entries"]
        )
        detail = (
            f"<h2>{html.escape(sid)}</h2>"
            f"<p>WebSocket messages sent: <code>{html.escape(json.dumps(timeline['ws_messages_sent']))}"
            f"</code>, received: <code>{html.escape(json.dumps(timeline['ws_messages_received']))}"
            f"</code></p><table><tr><th>t (s)</th><th>what</th><th>details</th></tr>{entries}</table>"
        )
    return web.Response(content_type="text/html", text=PAGE.format(
        base_url=html.escape(emulator.base_url), account=html.escape(emulator.account_sid),
        rows=rows, detail=detail, refresh="" if sid else "<meta http-equiv='refresh' content='3'>",
    ))


PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Twilio emulator</title>{refresh}
<style>
 body {{ font: 14px system-ui, sans-serif; margin: 1.5em; color: #222; }}
 table {{ border-collapse: collapse; margin-bottom: 1.5em; }}
 td, th {{ border-bottom: 1px solid #ddd; padding: 3px 8px; text-align: left; vertical-align: top; }}
 code {{ font-size: 12px; word-break: break-all; }}
 .s-completed {{ color: #080; }} .s-failed, .s-busy, .s-no-answer, .s-canceled {{ color: #b00; }}
 .s-in-progress {{ color: #05a; }} tr.k-error td {{ background: #fee; }}
</style></head>
<body><h1>Twilio emulator</h1>
<p>API <code>{base_url}</code> for account <code>{account}</code> &middot;
<a href="/_emulator/">all calls</a> &middot; <a href="/_emulator/calls.json">JSON</a></p>
<table><tr><th>Call</th><th>Direction</th><th>From</th><th>To</th><th>Callee</th>
<th>Status</th><th>Duration</th><th>Ended because</th></tr>{rows}</table>
{detail}
</body></html>
"""
