"""Staff pages for calls: the list, one call (live transcript, timeline, recording), inbound."""

import heapq
import mimetypes
import re

from django.http import FileResponse, Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string

from calls.live import call_payload, transcript_payload
from calls.models import Call
from calls.recording_links import call_for_link
from calls.session_figures import session_figures
from campaigns.models import Campaign, Customer, Disposition, Lead
from common.access import staff_required
from common.paging import keyset_page

CALLS_PER_PAGE = 50
RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")


def _get_call(call_id: int) -> Call:
    return get_object_or_404(Call.objects.select_related("campaign", "customer", "lead"), pk=call_id)


def _call_filters(params):
    calls = Call.objects.select_related("campaign", "customer")
    # Test calls are listed only when asked for (?test=yes): they count nowhere else.
    calls = calls.exclude(test="") if params.get("test") == "yes" else calls.counted()
    if params.get("campaign", "").isdigit():
        calls = calls.filter(campaign_id=int(params["campaign"]))
    if params.get("direction") in Call.Direction.values:
        calls = calls.filter(direction=params["direction"])
    if params.get("status") == "live":
        calls = calls.live()
    elif params.get("status") in Call.Status.values:
        calls = calls.filter(status=params["status"])
    if params.get("disposition") in Disposition.values:
        calls = calls.filter(disposition=params["disposition"])
    term = params.get("q", "").strip()
    if term.startswith("CA"):
        calls = calls.filter(call_sid=term)
    elif term:
        digits = "".join(ch for ch in term if ch.isdigit())
        # Customers first (100k rows at most), then their calls through the customer index.
        customers = Customer.objects.filter(phone__endswith=digits).values("pk") if digits else []
        calls = calls.filter(customer__in=customers)
    return calls


@staff_required
def call_list(request):
    page = keyset_page(_call_filters(request.GET), request.GET, CALLS_PER_PAGE, newest_first=True)
    ctx = {
        "page": page,
        "campaigns": Campaign.objects.only("id", "name").order_by("name"),
        "statuses": Call.Status.choices,
        "dispositions": Disposition.choices,
        "directions": Call.Direction.choices,
    }
    return render(request, "calls/call_list.html", ctx)


def _in_twilio_order(events: list) -> list:
    """Status callbacks in Twilio's order (their sequence numbers: they can arrive out of
    order), and an event without one (the answering-machine result) where it came among them."""
    unsequenced = [e for e in events if e.sequence_number is None]  # oldest first
    ordered = []
    sequenced = sorted((e for e in events if e.sequence_number is not None), key=lambda e: e.sequence_number)
    for event in sequenced:
        while unsequenced and unsequenced[0].received_at < event.received_at:
            ordered.append(unsequenced.pop(0))
        ordered.append(event)
    return ordered + unsequenced


def _call_context(call: Call) -> dict:
    """What the call page's outcome, timeline and latency cards are rendered from."""
    events = _in_twilio_order(list(call.events.order_by("received_at", "id")))
    transfers = list(call.transfers.select_related("agent_call"))
    # Status callbacks in Twilio's order, each hand-off to a person where it happened among them.
    timeline = heapq.merge([("status", e.received_at, e) for e in events],
                           [("transfer", t.created_at, t) for t in transfers], key=lambda entry: entry[1])
    return {
        "call": call,
        "events": events,
        "timeline": [(kind, entry) for kind, _, entry in timeline],
        "figures": session_figures(call.metrics),
    }


@staff_required
def call_detail(request, call_id):
    call = _get_call(call_id)
    ctx = _call_context(call) | {"lines": [transcript_payload(line) for line in call.transcript.all()]}
    return render(request, "calls/call_detail.html", ctx)


@staff_required
def call_live(request, call_id):
    """Catch-up for a call page: its state, its cards as the page renders them, and the
    transcript lines after ?after=<line id>."""
    call = _get_call(call_id)
    after = request.GET.get("after", "")
    lines = call.transcript.filter(pk__gt=int(after)) if after.isdigit() else call.transcript.all()
    ctx = _call_context(call)
    return JsonResponse({
        "call": call_payload(call) | {"has_recording": bool(call.recording)},
        "lines": [transcript_payload(line) for line in lines],
        "events": [{"id": e.pk, "status": e.call_status, "sequence_number": e.sequence_number,
                    "received_at": e.received_at.isoformat()} for e in ctx["events"]],
        "html": {name: render_to_string(f"calls/_{name}.html", ctx, request)
                 for name in ("call_outcome", "timeline", "call_latency", "call_recording")},
    })


@staff_required
def call_recording(request, call_id):
    """Stream the recording to staff only (never a public media URL)."""
    return recording_response(request, _get_call(call_id))


def call_recording_by_link(request, token):
    """The recording for whoever holds a signed, unexpired link (webhooks send them)."""
    call = call_for_link(token)
    if call is None:
        raise Http404("This recording link is not valid or has expired.")
    return recording_response(request, call)


def recording_response(request, call: Call):
    """The recording, with Range support so a browser's player can seek."""
    if not call.recording:
        raise Http404("This call has no recording.")
    try:
        size = call.recording.size
        handle = call.recording.open("rb")
    except FileNotFoundError:
        raise Http404("The recording file is missing.") from None
    content_type = mimetypes.guess_type(call.recording.name)[0] or "application/octet-stream"
    match = RANGE_RE.match(request.headers.get("Range", ""))
    if not match or not any(match.groups()):
        response = FileResponse(handle, content_type=content_type)
        response["Accept-Ranges"] = "bytes"
        return response
    first, last = match.groups()
    start = int(first) if first else max(size - int(last), 0)
    end = min(int(last), size - 1) if first and last else size - 1
    if start >= size or start > end:
        handle.close()
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
        return response
    handle.seek(start)
    body = handle.read(end - start + 1)
    handle.close()
    response = HttpResponse(body, status=206, content_type=content_type)
    response["Content-Range"] = f"bytes {start}-{end}/{size}"
    response["Accept-Ranges"] = "bytes"
    return response


@staff_required
def inbound(request):
    """Calls that came in — callbacks (a customer returning a campaign call) and others —
    with the campaign each was routed to, and the callbacks customers asked for."""
    calls = Call.objects.filter(direction=Call.Direction.INBOUND).select_related("campaign", "customer")
    if request.GET.get("kind") == "callback":
        calls = calls.filter(lead__isnull=False)
    elif request.GET.get("kind") == "unknown":
        calls = calls.filter(customer__isnull=True)
    requested = (
        Lead.objects.filter(callback_at__isnull=False)
        .exclude(state__in=[Lead.State.DONE, Lead.State.CANCELLED, Lead.State.DO_NOT_CALL])
        .select_related("customer", "campaign").order_by("callback_at")[:20]
    )
    ctx = {"page": keyset_page(calls, request.GET, CALLS_PER_PAGE, newest_first=True),
           "requested": requested, "kind": request.GET.get("kind", "")}
    return render(request, "calls/inbound.html", ctx)
