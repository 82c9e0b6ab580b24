"""What the emulator's HTTP handlers share: Twilio-style errors, Basic auth, finding the
Emulator a request belongs to. The app itself is built beside the Emulator (`emulator.py`),
so the handlers (`rest`, `control`) import this module and nothing imports them back."""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:  # for the annotations only: at run time this module needs no Emulator
    from .emulator import Emulator

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

API_PREFIX = "/2010-04-01/"
CONTROL_PREFIX = "/_emulator"
# Reachable without credentials: a health probe, and recordings (public on Twilio by default).
PUBLIC_PATHS = ("/_emulator/health",)
PUBLIC_INFIXES = ("/Recordings/",)

EMULATOR_KEY: web.AppKey[Emulator] = web.AppKey("emulator")


def twilio_error(status: int, code: int, message: str) -> web.Response:
    """An error body in Twilio's REST format, which twilio-python turns into an exception."""
    return web.json_response({
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }, status=status)


def not_found(request: web.Request) -> web.Response:
    return twilio_error(404, 20404, f"The requested resource {request.path} was not found")


def emulator_of(request: web.Request) -> Emulator:
    return request.app[EMULATOR_KEY]


def _credentials(request: web.Request) -> tuple[str, str] | None:
    header = request.headers.get("Authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        username, _, password = base64.b64decode(encoded).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return username, password


def _needs_auth(path: str) -> bool:
    if path in PUBLIC_PATHS or any(part in path for part in PUBLIC_INFIXES):
        return False
    return path.startswith((API_PREFIX, CONTROL_PREFIX))


@web.middleware
async def twilio_auth(request: web.Request, handler: Handler) -> web.StreamResponse:
    """HTTP Basic auth with the account SID and auth token, as Twilio's API requires."""
    if _needs_auth(request.path):
        emulator = emulator_of(request)
        given = _credentials(request)
        if (given is None or not hmac.compare_digest(given[0], emulator.account_sid)
                or not hmac.compare_digest(given[1], emulator.auth_token)):
            response = twilio_error(401, 20003, "Authenticate")
            response.headers["WWW-Authenticate"] = 'Basic realm="Twilio API"'
            return response
        account = request.match_info.get("account_sid")
        if account is not None and account != emulator.account_sid:
            return twilio_error(401, 20003, "Authenticate")
    try:
        return await handler(request)
    except web.HTTPNotFound:
        if request.path.startswith(API_PREFIX):
            return not_found(request)
        raise
    except web.HTTPMethodNotAllowed:
        if request.path.startswith(API_PREFIX):
            return twilio_error(405, 20004, "Method not allowed")
        raise
