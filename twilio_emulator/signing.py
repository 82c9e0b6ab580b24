"""Request signing exactly as Twilio does it, delegated to the official helper library.

Using `RequestValidator.compute_signature` (rather than our own HMAC) guarantees that
whatever the product validates with the same library accepts our signatures.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from twilio.request_validator import RequestValidator

SIGNATURE_HEADER = "X-Twilio-Signature"


def sign(auth_token: str, url: str, params: Mapping[str, str] | None = None) -> str:
    """Signature of a request to `url` carrying the form parameters `params`."""
    return RequestValidator(auth_token).compute_signature(url, dict(params or {}))


def sign_websocket(auth_token: str, url: str) -> str:
    """Signature for a Media Streams handshake.

    The URL without its query string is signed with the query parameters as the
    parameters (none for the usual query-less Stream URL, where this equals signing
    the URL itself). That is how the product validates the upgrade request.
    """
    parts = urlsplit(url)
    bare = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    return sign(auth_token, bare, dict(parse_qsl(parts.query, keep_blank_values=True)))
