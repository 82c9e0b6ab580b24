"""Twilio's webhooks: thin views that validate, then hand over to calls.inbound / calls.status
(status callbacks by way of calls.status_stream)."""

from django.http import HttpResponse, HttpResponseBadRequest, JsonResponse

from calls import inbound, status, status_stream
from calls.forms import AmdCallbackForm, StatusCallbackForm, TwilioCallForm
from calls.models import Call
from calls.status import StatusCallback
from calls.twilio_auth import twilio_webhook
from calls.twiml import connect_to_bot


def _bad_request(form) -> HttpResponseBadRequest:
    problems = "; ".join(f"{field}: {' '.join(errors)}" for field, errors in form.errors.items())
    return HttpResponseBadRequest(f"Malformed Twilio request: {problems}")


@twilio_webhook
def voice(request):
    form = TwilioCallForm(request.POST)
    if not form.is_valid():
        return _bad_request(form)
    data = form.cleaned_data
    call = inbound.route_inbound_call(data["CallSid"], data["From"], data["To"])
    return HttpResponse(connect_to_bot(call), content_type="text/xml")


@twilio_webhook
async def status_callback(request):
    """Answered as soon as the callback is safe in the stream: appliers store it (calls.status_stream)."""
    form = StatusCallbackForm(request.POST)
    if not form.is_valid():
        return _bad_request(form)
    callback = StatusCallback(form.cleaned_data, request.POST.dict(), request.GET.get("call_id"))
    await status_stream.enqueue(callback)
    return HttpResponse(status=204)


@twilio_webhook
def amd_callback(request):
    form = AmdCallbackForm(request.POST)
    if not form.is_valid():
        return _bad_request(form)
    call = status.apply_amd_result(form.cleaned_data, request.POST.dict())
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
