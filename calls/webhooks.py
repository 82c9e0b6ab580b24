"""Twilio's webhooks: thin views that validate, then hand over to calls.inbound / calls.status
(status callbacks by way of calls.status_stream)."""

from django.http import HttpResponse, HttpResponseBadRequest, JsonResponse

from calls import inbound, status, status_stream, transfers
from calls.forms import (
    AmdCallbackForm,
    ConferenceEventForm,
    DialActionForm,
    StatusCallbackForm,
    TwilioCallForm,
    clean_twilio_post,
)
from calls.models import Call
from calls.status import StatusCallback
from calls.twilio_auth import twilio_webhook
from calls.twiml import connect_to_bot


def _bad_request(errors: dict[str, list[str]]) -> HttpResponseBadRequest:
    problems = "; ".join(f"{field}: {' '.join(messages)}" for field, messages in errors.items())
    return HttpResponseBadRequest(f"Malformed Twilio request: {problems}")


@twilio_webhook
def voice(request):
    data, errors = clean_twilio_post(TwilioCallForm, request.POST)
    if errors:
        return _bad_request(errors)
    call = inbound.route_inbound_call(data["CallSid"], data["From"], data["To"])
    return HttpResponse(connect_to_bot(call), content_type="text/xml")


@twilio_webhook
async def status_callback(request):
    """Answered as soon as the callback is safe in the stream: appliers store it (calls.status_stream)."""
    data, errors = clean_twilio_post(StatusCallbackForm, request.POST)
    if errors:
        return _bad_request(errors)
    callback = StatusCallback(data, request.POST.dict(), request.GET.get("call_id"))
    await status_stream.enqueue(callback)
    return HttpResponse(status=204)


@twilio_webhook
def amd_callback(request):
    data, errors = clean_twilio_post(AmdCallbackForm, request.POST)
    if errors:
        return _bad_request(errors)
    call = status.apply_amd_result(data, request.POST.dict(), request.GET.get("call_id"))
    if call is None:
        return JsonResponse({"error": "Unknown CallSid."}, status=404)
    return HttpResponse(status=204)


@twilio_webhook
def connect(request):
    """TwiML for an outbound call whose <Parameter>s are too long to send inline (Twilio
    caps inline Twiml at 4,000 characters): Twilio fetches it from here instead."""
    call_id = request.GET.get("call_id", "")
    call = Call.objects.filter(pk=call_id).first() if call_id.isdigit() else None
    if call is None:
        return HttpResponseBadRequest("Unknown call.")
    return HttpResponse(connect_to_bot(call), content_type="text/xml")


@twilio_webhook
def dial_action(request, attempt_id):
    """A hand-off's <Dial> ended: what the caller's call does next (calls.transfers)."""
    data, errors = clean_twilio_post(DialActionForm, request.POST)
    if errors:
        return _bad_request(errors)
    next_twiml = transfers.dial_ended(attempt_id, data)
    if next_twiml is None:
        return HttpResponse("Unknown transfer.", status=404)
    return HttpResponse(next_twiml, content_type="text/xml")


@twilio_webhook
def dial_answered(request, attempt_id):
    """A hand-off's agent answered (the <Number>'s statusCallback, for its own leg's CallSid)."""
    data, errors = clean_twilio_post(StatusCallbackForm, request.POST)
    if errors:
        return _bad_request(errors)
    answered = data["CallStatus"] == Call.Status.IN_PROGRESS
    if answered and not transfers.agent_answered(attempt_id, data["CallSid"]):
        return HttpResponse("Unknown transfer.", status=404)
    return HttpResponse(status=204)


@twilio_webhook
def conference_status(request, attempt_id):
    data, errors = clean_twilio_post(ConferenceEventForm, request.POST)
    if errors:
        return _bad_request(errors)
    if not transfers.conference_event(attempt_id, data):
        return HttpResponse("Unknown transfer.", status=404)
    return HttpResponse(status=204)
