"""Twilio's Conferences REST resource and its Participants subresource."""

from __future__ import annotations

import asyncio
from xml.sax.saxutils import escape

from aiohttp import web
from multidict import MultiDictProxy

from .calls import CallRequest
from .conference import DEFAULT_WAIT_URL, Conference, Participant, events, truthy
from .formats import API_VERSION, is_e164
from .rest import STATUS_EVENTS, Invalid, _matches, _page, _seconds
from .web import emulator_of, not_found, twilio_error

routes = web.RouteTableDef()
CONFERENCES = f"/{API_VERSION}/Accounts/{{account_sid}}/Conferences"
DEFAULT_PARTICIPANT_TIMEOUT = 60.0


def _conference(request: web.Request) -> Conference | None:
    conferences = emulator_of(request).conferences
    assert conferences is not None
    return conferences.by_sid.get(request.match_info["sid"])


@routes.get(CONFERENCES + ".json")
async def list_conferences(request: web.Request) -> web.Response:
    conferences = emulator_of(request).conferences
    assert conferences is not None
    listed = [c.to_resource() for c in reversed(conferences.all())  # newest first
              if _matches(request.query, FriendlyName=c.friendly_name, Status=c.status)]
    return _page(request, "conferences", listed, ("FriendlyName", "Status"))


@routes.get(CONFERENCES + "/{sid}.json")
async def fetch_conference(request: web.Request) -> web.Response:
    conference = _conference(request)
    if conference is None:
        return not_found(request)
    return web.json_response(conference.to_resource())


@routes.post(CONFERENCES + "/{sid}.json")
async def update_conference(request: web.Request) -> web.Response:
    conference = _conference(request)
    form = await request.post()
    if conference is None:
        return not_found(request)
    conference.timeline.add("rest_update", params={k: v for k, v in form.items()
                                                   if isinstance(v, str)})
    status = form.get("Status")
    if status not in (None, "completed"):
        return twilio_error(400, 20001, f"Status must be completed, got {status!r}")
    if status == "completed":
        conference.end("conference-ended-via-api")
    return web.json_response(conference.to_resource())


def _participant(conference: Conference, key: str) -> Participant | None:
    """By CallSid or by label, as Twilio allows."""
    found = conference.participants.get(key)
    if found is not None:
        return found
    return next((p for p in conference.participants.values() if p.label == key), None)


@routes.get(CONFERENCES + "/{sid}/Participants.json")
async def list_participants(request: web.Request) -> web.Response:
    conference = _conference(request)
    if conference is None:
        return not_found(request)
    listed = [p.to_resource() for p in conference.participants.values()
              if _matches(request.query, Muted=str(p.muted).lower(), Hold=str(p.hold).lower(),
                          Coaching="false")]
    return _page(request, "participants", listed, ("Muted", "Hold", "Coaching"))


@routes.get(CONFERENCES + "/{sid}/Participants/{call}.json")
async def fetch_participant(request: web.Request) -> web.Response:
    conference = _conference(request)
    participant = conference and _participant(conference, request.match_info["call"])
    if not participant:
        return not_found(request)
    return web.json_response(participant.to_resource())


@routes.post(CONFERENCES + "/{sid}/Participants/{call}.json")
async def update_participant(request: web.Request) -> web.Response:
    conference = _conference(request)
    form = await request.post()
    participant = conference and _participant(conference, request.match_info["call"])
    if not conference or not participant:
        return not_found(request)
    if "EndConferenceOnExit" in form:
        participant.end_conference_on_exit = truthy(str(form["EndConferenceOnExit"]), False)
    conference.update(participant,
                      muted=truthy(str(form["Muted"]), False) if "Muted" in form else None,
                      hold=truthy(str(form["Hold"]), False) if "Hold" in form else None)
    return web.json_response(participant.to_resource())


@routes.delete(CONFERENCES + "/{sid}/Participants/{call}.json")
async def remove_participant(request: web.Request) -> web.Response:
    conference = _conference(request)
    participant = conference and _participant(conference, request.match_info["call"])
    if not conference or not participant:
        return not_found(request)
    conference.remove(participant, "participant_removed_via_api")
    return web.Response(status=204)


def _numbers(form: MultiDictProxy[str]) -> tuple[str, str]:
    to, from_ = form.get("To", "").strip(), form.get("From", "").strip()
    if not to:
        raise Invalid(21201, "No 'To' number is specified")
    if not is_e164(to):
        raise Invalid(21211, f"The 'To' number {to} is not a valid phone number.")
    if not from_:
        raise Invalid(21213, "No 'From' number is specified")
    if not is_e164(from_):
        raise Invalid(21212, f"The 'From' number {from_} is not a valid phone number.")
    return to, from_


def _call_events(form: MultiDictProxy[str]) -> frozenset[str]:
    wanted = {word.lower() for value in form.getall("StatusCallbackEvent", [])
              for word in value.replace(",", " ").split()}
    if wanted - STATUS_EVENTS:
        raise Invalid(21626, f"Invalid 'StatusCallbackEvent': {sorted(wanted - STATUS_EVENTS)}")
    return frozenset(wanted) or frozenset({"completed"})


@routes.post(CONFERENCES + "/{sid}/Participants.json")
async def add_participant(request: web.Request) -> web.Response:
    """Dial `To` and join them to the conference (named by SID, or by friendly name: then
    created if there is none), as Twilio's Participants resource does."""
    emulator = emulator_of(request)
    conferences = emulator.conferences
    assert conferences is not None
    form = await request.post()
    key = request.match_info["sid"]
    conference = conferences.find(key)
    if conference is None:
        if key.startswith("CF") and len(key) == 34:
            return not_found(request)
        conference = conferences.named(key)
    if conference.ended:
        return not_found(request)
    try:
        to, from_ = _numbers(form)  # type: ignore[arg-type]
        call_events = _call_events(form)  # type: ignore[arg-type]
        timeout = _seconds(form, "Timeout", DEFAULT_PARTICIPANT_TIMEOUT, 600)  # type: ignore[arg-type]
        time_limit = _seconds(form, "TimeLimit", 14400.0, 86400.0)  # type: ignore[arg-type]
    except Invalid as invalid:
        return invalid.response
    if refusal := emulator.numbers.caller_id_refusal(from_):
        return twilio_error(400, *refusal)
    twiml = (f"<Response><Dial><Conference>{escape(conference.friendly_name)}</Conference>"
             "</Dial></Response>")
    call = emulator.place_call(CallRequest(
        to=to, from_=from_, twiml=twiml, timeout=timeout, time_limit=time_limit,
        status_callback=form.get("StatusCallback") or None,
        status_callback_events=call_events,
        status_callback_method=form.get("StatusCallbackMethod", "POST").upper(),
        record=truthy(form.get("Record"), False),
    ))
    call.timeline.add("rest_participant", conference_sid=conference.sid,
                      params={k: v for k, v in form.items() if isinstance(v, str)})
    participant = Participant(
        call=call, conference=conference,
        start_conference_on_enter=truthy(form.get("StartConferenceOnEnter"), True),
        end_conference_on_exit=truthy(form.get("EndConferenceOnExit"), False),
        muted=truthy(form.get("Muted"), False), hold=truthy(form.get("Hold"), False),
        label=form.get("Label") or None,
        wait_url=form.get("WaitUrl", DEFAULT_WAIT_URL),
        wait_method=form.get("WaitMethod", "POST").upper(),
        # Removed (or the conference ended) before answering: the call is canceled.
        cancel=lambda: emulator.runners[call.sid].hang_up("canceled"))
    conference.subscribe(form.get("ConferenceStatusCallback"),
                         events(form.getall("ConferenceStatusCallbackEvent", [])),
                         form.get("ConferenceStatusCallbackMethod", "POST"))
    conference.expect(participant)
    conference.timeline.add("participant_dialled", call_sid=call.sid, to=to, from_=from_,
                            label=participant.label)
    emulator.spawn(_forget_if_unanswered(conference, participant), call)
    return web.json_response(participant.to_resource(), status=201)


async def _forget_if_unanswered(conference: Conference, participant: Participant) -> None:
    await participant.call.wait_ended()
    await asyncio.sleep(0)  # let a participant that did join leave first
    if participant.line is None:
        conference.unanswered(participant)
