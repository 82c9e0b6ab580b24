"""Twilio's request signatures, checked with the `twilio` package's RequestValidator.

Twilio signs the URL it called. Behind a proxy or tunnel our local host and scheme differ
from that URL, so it is rebuilt from PUBLIC_BASE_URL, never from the request's Host."""

import logging
from functools import wraps
from inspect import iscoroutinefunction
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpResponseForbidden
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from twilio.request_validator import RequestValidator

logger = logging.getLogger(__name__)

# Twilio drops a status or AMD callback it could not deliver (after at most one quick retry on
# a failed connection). This fragment, one of Twilio's connection overrides, asks for three
# retries on any failure (no connection, a read timeout, a 4xx or 5xx answer), within Twilio's
# 15-second budget. Twilio sends no fragment but signs the URL as it was given, fragment
# included; the check below accepts the signature over either form.
CALLBACK_RETRIES = "#rc=3&rp=all"


def with_retries(url: str) -> str:
    return url + CALLBACK_RETRIES


def public_url(path_with_query: str) -> str:
    return settings.PUBLIC_BASE_URL + path_with_query


def public_websocket_url(path: str) -> str:
    """The ws(s):// URL Twilio opens for a media stream: wss behind https, ws for a local demo."""
    base = urlsplit(settings.PUBLIC_BASE_URL)
    scheme = "wss" if base.scheme == "https" else "ws"
    return f"{scheme}://{base.netloc}{path}"


def is_signed_by_twilio(url: str, params, signature: str | None) -> bool:
    if not settings.TWILIO_VALIDATE_SIGNATURES:
        return True
    if not signature:
        return False
    return RequestValidator(settings.TWILIO_AUTH_TOKEN).validate(url, params, signature)


def _refusal(request) -> HttpResponseForbidden | None:
    url = public_url(request.get_full_path())
    signature = request.headers.get("X-Twilio-Signature")
    if any(is_signed_by_twilio(signed, request.POST, signature) for signed in (url, with_retries(url))):
        return None
    logger.warning(
        "Refused a Twilio webhook with a %s signature",
        "wrong" if signature else "missing",
        extra={"url": url, "remote_addr": request.META.get("REMOTE_ADDR")},
    )
    return HttpResponseForbidden("Invalid Twilio signature.")


def twilio_webhook(view):
    """POST only, CSRF-exempt (Twilio has no CSRF token) and refused unless Twilio signed it.
    An async view stays async (no thread for the request)."""

    if iscoroutinefunction(view):
        async def wrapper(request, *args, **kwargs):
            return _refusal(request) or await view(request, *args, **kwargs)
    else:
        def wrapper(request, *args, **kwargs):
            return _refusal(request) or view(request, *args, **kwargs)

    return csrf_exempt(require_POST(wraps(view)(wrapper)))
