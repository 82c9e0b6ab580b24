"""Twilio's REST API: calls (create, fetch, list, update: hang up / redirect) and the
account's numbers (IncomingPhoneNumbers: list, fetch)."""

from __future__ import annotations

import asyncio
import contextlib
import re
from urllib.parse import urlencode

from aiohttp import web
from multidict import MultiDictProxy, MultiMapping

from .calls import CallRequest, CallStatus
from .formats import API_VERSION, is_e164
from .twiml import Document
from .web import emulator_of, not_found, twilio_error

MAX_INLINE_TWIML = 4000
MAX_TIMEOUT = 600
STATUS_EVENTS = {"initiated", "ringing", "answered", "completed"}
DEFAULT_PAGE_SIZE = 50

routes = web.RouteTableDef()
ACCOUNT = f"/{API_VERSION}/Accounts/{{account_sid}}"


class Invalid(Exception):
    def __init__(self, code: int, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.response = twilio_error(status, code, message)


def _is_http_url(value: str) -> bool:
    return bool(re.match(r"^https?://[^/\s]+", value))


def _events(form: MultiDictProxy[str]) -> frozenset[str]:
    # Repeated fields, as twilio-python sends them; space-separated also works on Twilio.
    events = {word.lower() for value in form.getall("StatusCallbackEvent", [])
              for word in re.split(r"[\s,]+", value) if word}
    if events - STATUS_EVENTS:
        raise Invalid(21626, f"Invalid 'StatusCallbackEvent': {sorted(events - STATUS_EVENTS)}")
    return frozenset(events) or frozenset({"completed"})


def _seconds(form: MultiDictProxy[str], name: str, default: float, maximum: float) -> float:
    raw = form.get(name)
    if raw in (None, ""):
        return default
    try:
        value = float(raw)
    except ValueError:
        raise Invalid(21208 if name == "Timeout" else 20001,
                      f"{name} must be a number of seconds, got {raw!r}") from None
    # Twilio caps Timeout at 600 s. It also raises tiny timeouts to a few seconds; the
    # emulator keeps them, so tests can exercise no-answer quickly.
    return min(max(value, 0.0), maximum)


def _document_fields(form: MultiDictProxy[str]) -> tuple[str | None, str | None]:
    url, twiml = form.get("Url") or None, form.get("Twiml") or None
    if twiml is not None and len(twiml) > MAX_INLINE_TWIML:
        raise Invalid(32018, "Twiml size exceeded maximum allowed value of 4000 characters")
    if url is not None and not _is_http_url(url):
        raise Invalid(21205, f"Url is not a valid URL: {url}")
    return url, twiml


def parse_call_request(form: MultiDictProxy[str]) -> CallRequest:
    to, from_ = form.get("To", "").strip(), form.get("From", "").strip()
    if not to:
        raise Invalid(21201, "No 'To' number is specified")
    if not is_e164(to):
        raise Invalid(21211, f"The 'To' number {to} is not a valid phone number.")
    if not from_:
        raise Invalid(21213, "No 'From' number is specified")
    if not is_e164(from_):
        raise Invalid(21212, f"The 'From' number {from_} is not a valid phone number, "
                             "shortcode, or alphanumeric sender ID.")
    url, twiml = _document_fields(form)
    if url is None and twiml is None:
        if form.get("ApplicationSid"):
            raise Invalid(21205, "ApplicationSid is not emulated: pass Url or Twiml")
        raise Invalid(21205, "Url parameter is required. Provide Url, Twiml or ApplicationSid.")
    machine_detection = form.get("MachineDetection") or None
    if machine_detection not in (None, "Enable", "DetectMessageEnd"):
        raise Invalid(21234, f"MachineDetection must be Enable or DetectMessageEnd, "
                             f"got {machine_detection!r}")
    return CallRequest(
        to=to,
        from_=from_,
        url=url,
        twiml=twiml,
        method=form.get("Method", "POST").upper(),
        status_callback=form.get("StatusCallback") or None,
        status_callback_events=_events(form),
        status_callback_method=form.get("StatusCallbackMethod", "POST").upper(),
        timeout=_seconds(form, "Timeout", 60.0, MAX_TIMEOUT),
        time_limit=_seconds(form, "TimeLimit", 14400.0, 86400.0),
        machine_detection=machine_detection,
        async_amd=form.get("AsyncAmd", "false").lower() == "true",
        async_amd_callback=form.get("AsyncAmdStatusCallback") or None,
        async_amd_callback_method=form.get("AsyncAmdStatusCallbackMethod", "POST").upper(),
        record=form.get("Record", "false").lower() == "true",
    )


@routes.post(ACCOUNT + "/Calls.json")
async def create_call(request: web.Request) -> web.Response:
    emulator = emulator_of(request)
    form = await request.post()
    try:
        call_request = parse_call_request(form)  # type: ignore[arg-type]
    except Invalid as invalid:
        return invalid.response
    if refusal := emulator.numbers.caller_id_refusal(call_request.from_):
        return twilio_error(400, *refusal)
    call = emulator.place_call(call_request)
    call.timeline.add("rest_create", params={k: v for k, v in form.items()
                                             if isinstance(v, str)})
    return web.json_response(call.to_resource(), status=201)


def _page(request: web.Request, key: str, items: list[dict], filters: tuple[str, ...]
          ) -> web.Response:
    """One page of a list resource, with Twilio's paging fields (Page, PageSize)."""
    query = request.query
    try:
        page = max(0, int(query.get("Page", 0)))
        page_size = min(1000, max(1, int(query.get("PageSize", DEFAULT_PAGE_SIZE))))
    except ValueError:
        return twilio_error(400, 20001, "Page and PageSize must be integers")
    start = page * page_size
    chosen = items[start:start + page_size]
    kept = {k: v for k, v in query.items() if k in filters}

    def page_uri(number: int) -> str:
        return f"{request.path}?{urlencode({**kept, 'PageSize': page_size, 'Page': number})}"

    return web.json_response({
        key: chosen,
        "end": start + max(len(chosen) - 1, 0),
        "first_page_uri": page_uri(0),
        "next_page_uri": page_uri(page + 1) if start + page_size < len(items) else None,
        "page": page,
        "page_size": page_size,
        "previous_page_uri": page_uri(page - 1) if page > 0 else None,
        "start": start,
        "uri": page_uri(page),
    })


def _matches(query: MultiMapping[str], **values: str) -> bool:
    return all(query.get(name, value) == value for name, value in values.items())


@routes.get(ACCOUNT + "/Calls.json")
async def list_calls(request: web.Request) -> web.Response:
    emulator, query = emulator_of(request), request.query
    calls = [call.to_resource() for call in reversed(list(emulator.calls.values()))  # newest first
             if _matches(query, To=call.request.to, From=call.request.from_, Status=str(call.status),
                         ParentCallSid=call.request.parent_call_sid or "")]
    return _page(request, "calls", calls, ("To", "From", "Status", "ParentCallSid"))


@routes.get(ACCOUNT + "/IncomingPhoneNumbers.json")
async def list_numbers(request: web.Request) -> web.Response:
    """The account's numbers, oldest first; PhoneNumber and FriendlyName filter exactly."""
    emulator, query = emulator_of(request), request.query
    numbers = [number.to_resource(emulator.account_sid) for number in emulator.numbers.all()
               if _matches(query, PhoneNumber=number.phone_number, FriendlyName=number.friendly_name)]
    return _page(request, "incoming_phone_numbers", numbers, ("PhoneNumber", "FriendlyName"))


@routes.get(ACCOUNT + "/IncomingPhoneNumbers/{sid}.json")
async def fetch_number(request: web.Request) -> web.Response:
    emulator = emulator_of(request)
    number = emulator.numbers.by_sid(request.match_info["sid"])
    if number is None:
        return not_found(request)
    return web.json_response(number.to_resource(emulator.account_sid))


@routes.get(ACCOUNT + "/Calls/{call_sid}.json")
async def fetch_call(request: web.Request) -> web.Response:
    call = emulator_of(request).calls.get(request.match_info["call_sid"])
    if call is None:
        return not_found(request)
    return web.json_response(call.to_resource())


@routes.post(ACCOUNT + "/Calls/{call_sid}.json")
async def update_call(request: web.Request) -> web.Response:
    emulator = emulator_of(request)
    sid = request.match_info["call_sid"]
    call, runner = emulator.calls.get(sid), emulator.runners.get(sid)
    form = await request.post()
    if call is None or runner is None:
        return not_found(request)
    call.timeline.add("rest_update", params={k: v for k, v in form.items()
                                             if isinstance(v, str)})
    if call.status.is_final:
        # Twilio answers 404/20404 for a call that has already ended.
        return not_found(request)
    status = form.get("Status")
    try:
        url, twiml = _document_fields(form)  # type: ignore[arg-type]
    except Invalid as invalid:
        return invalid.response
    if status is not None:
        if status not in ("completed", "canceled"):
            # Not a documented code: 20001 stands for "invalid parameter" here.
            return twilio_error(400, 20001, f"Status must be completed or canceled, got {status!r}")
        runner.hang_up(str(status))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(call.wait_ended(), emulator.timing.hangup_wait_seconds)
    elif url is not None or twiml is not None:
        document = Document(url=url, method=str(form.get("Method", "POST")).upper(),
                            twiml=twiml)
        if call.status is CallStatus.IN_PROGRESS:
            runner.redirect(document)
        else:  # not answered yet: the new TwiML is what runs on answer
            call.request.url, call.request.twiml = url, twiml
            call.request.method = document.method
    return web.json_response(call.to_resource())


@routes.get(ACCOUNT + "/Recordings/{recording}")
async def recording_media(request: web.Request) -> web.StreamResponse:
    """A recording's audio; like Twilio, with or without the .wav extension."""
    sid = request.match_info["recording"].removesuffix(".wav")
    path = emulator_of(request).data_dir / "recordings" / f"{sid}.wav"
    if not re.fullmatch(r"RE[0-9a-f]{32}", sid) or not path.exists():
        return not_found(request)
    return web.FileResponse(path, headers={"Content-Type": "audio/x-wav"})
