"""The dial-out API: place one call now, read a call back. Bearer-token auth (tokens are
made in the admin); JSON in, JSON out, errors that name the problem."""

import json
import re
from functools import wraps

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from calls.models import ApiToken, Call
from campaigns import dispatch
from campaigns.models import Campaign, Customer, DoNotCall
from campaigns.phones import to_e164

PARAMETER_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,59}$")
PARAMETER_VALUE_MAX = 500


def _error(message: str, status: int) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def token_required(view):
    @csrf_exempt  # no cookies: the bearer token is the credential
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return _error("Send an API token: 'Authorization: Bearer <token>'.", 401)
        matched = ApiToken.objects.filter(token_hash=ApiToken.digest(token), revoked=False)
        if not matched.update(last_used_at=timezone.now()):
            return _error("This API token is not valid or has been revoked.", 401)
        return view(request, *args, **kwargs)

    return wrapper


def _campaign(reference) -> Campaign | None:
    if reference in (None, ""):
        return None
    lookup = {"pk": int(reference)} if str(reference).isdigit() else {"slug": str(reference)}
    campaign = Campaign.objects.filter(**lookup).first()
    if campaign is None:
        raise ValidationError(f"There is no campaign '{reference}'.")
    return campaign


def _parameters(raw) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ValidationError("'parameters' must be an object of names to text values.")
    for name, value in raw.items():
        if not PARAMETER_NAME.match(name):
            raise ValidationError(f"Parameter name '{name}' may use only letters, digits and underscores.")
        if not isinstance(value, str | int | float) or len(str(value)) > PARAMETER_VALUE_MAX:
            raise ValidationError(
                f"Parameter '{name}' must be text of at most {PARAMETER_VALUE_MAX} characters."
            )
    return {name: str(value) for name, value in raw.items()}


@token_required
@require_POST
def create_call(request):
    try:
        body = json.loads(request.body or b"{}")
        if not isinstance(body, dict):
            raise ValueError
    except ValueError:
        return _error("The body must be a JSON object.", 400)
    try:
        phone = to_e164(str(body.get("to") or ""), body.get("country"))
        campaign = _campaign(body.get("campaign"))
        parameters = _parameters(body.get("parameters"))
        campaign_number = campaign.caller_id if campaign else ""
        from_number = body.get("from") or campaign_number or settings.TWILIO_CALLER_ID
        if not from_number:
            raise ValidationError("Say which number to call from: 'from', or a campaign with a caller ID.")
    except ValidationError as error:
        return _error(" ".join(error.messages), 400)
    if DoNotCall.objects.filter(phone=phone).exists():
        return _error(f"{phone} is on the do-not-call list.", 409)
    customer, _ = Customer.objects.get_or_create(phone=phone)
    call = dispatch.call_now(customer, campaign, from_number, parameters)
    if call.status == Call.Status.FAILED:
        return _error(f"Twilio did not place the call: {call.error_message}", 502)
    return JsonResponse({"id": call.pk, "call_sid": call.call_sid, "status": call.status}, status=201)


@token_required
@require_GET
def call_detail(request, call_id: int):
    call = Call.objects.filter(pk=call_id).select_related("campaign").first()
    if call is None:
        return _error(f"There is no call {call_id}.", 404)
    return JsonResponse({
        "id": call.pk,
        "call_sid": call.call_sid,
        "direction": call.direction,
        "to": call.to_number,
        "from": call.from_number,
        "campaign": (call.campaign.slug or call.campaign.pk) if call.campaign else None,
        "status": call.status,
        "answered_by": call.answered_by,
        "duration_seconds": call.duration_seconds,
        "outcome": call.disposition,
        "notes": call.notes,
        "summary": call.summary,
        "transcript": [
            {"speaker": line.speaker, "text": line.text, "offset_ms": line.offset_ms}
            for line in call.transcript.all()
        ],
    })
