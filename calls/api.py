"""The dial-out API: place one call now, read a call back. Bearer-token auth (tokens are
made in the admin); JSON in, JSON out, errors that name the problem. An Idempotency-Key
header makes a request safe to send again: the same key and body get the same call."""

import json
import re
from functools import wraps

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from calls import idempotency
from calls.models import ApiToken, Call, IdempotencyKey
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
        api_token = ApiToken.objects.filter(token_hash=ApiToken.digest(token), revoked=False).first()
        if api_token is None:
            return _error("This API token is not valid or has been revoked.", 401)
        ApiToken.objects.filter(pk=api_token.pk).update(last_used_at=timezone.now())
        request.api_token = api_token
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


def _dial_request(body: dict) -> tuple[str, Campaign | None, str, dict[str, str]]:
    """The number to call, the campaign, the number to call from and the bot's parameters."""
    phone = to_e164(str(body.get("to") or ""), body.get("country"))
    campaign = _campaign(body.get("campaign"))
    parameters = _parameters(body.get("parameters"))
    campaign_number = campaign.caller_id if campaign else ""
    from_number = body.get("from") or campaign_number or settings.TWILIO_CALLER_ID
    if not from_number:
        raise ValidationError("Say which number to call from: 'from', or a campaign with a caller ID.")
    return phone, campaign, from_number, parameters


@token_required
@require_POST
def create_call(request):
    try:
        body = json.loads(request.body or b"{}")
        if not isinstance(body, dict):
            raise ValueError
    except ValueError:
        return _error("The body must be a JSON object.", 400)
    key = request.headers.get("Idempotency-Key", "").strip()
    if len(key) > IdempotencyKey.KEY_MAX_LENGTH:
        return _error(f"An Idempotency-Key has at most {IdempotencyKey.KEY_MAX_LENGTH} characters.", 400)
    try:
        return _create_once(request.api_token, key, body)
    except idempotency.KeyReused:
        return _error("This Idempotency-Key was already used for a different request; send a new key.", 422)


def _create_once(api_token: ApiToken, key: str, body: dict) -> JsonResponse:
    earlier = idempotency.earlier_call(api_token, key, body)
    if earlier is not None:
        return _answer(earlier, replayed=True)
    try:
        phone, campaign, from_number, parameters = _dial_request(body)
    except ValidationError as error:
        return _error(" ".join(error.messages), 400)
    if DoNotCall.objects.filter(phone=phone).exists():
        return _error(f"{phone} is on the do-not-call list.", 409)
    customer, _ = Customer.objects.get_or_create(phone=phone)
    call, replayed = idempotency.create_once(
        api_token, key, body, lambda: dispatch.new_call(customer, campaign, from_number, parameters)
    )
    return _answer(call if replayed else dispatch.call_now(call), replayed)


def _answer(call: Call, replayed: bool = False) -> JsonResponse:
    """201 once Twilio has the call, 202 while it waits for a calls-per-second token (or for
    Twilio's answer): a worker places it, and GET shows how it went. A call that failed
    before reaching Twilio (its number put on the do-not-call list meanwhile) is 409."""
    if call.status == Call.Status.FAILED and not call.dial_requested_at:
        response = _error(call.error_message, 409)
    elif call.status == Call.Status.FAILED:
        response = _error(f"Twilio did not place the call: {call.error_message}", 502)
    else:
        body = {"id": call.pk, "call_sid": call.call_sid, "status": call.status}
        response = JsonResponse(body, status=201 if call.call_sid else 202)
    if replayed:
        response["Idempotent-Replayed"] = "true"
    return response


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
