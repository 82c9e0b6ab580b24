"""One signed POST to a receiver, safely: a webhook URL is chosen by whoever holds an API
token, so it must not become a way to reach this network's private services.

The address is checked when the connection is made, on the address actually dialled (a
name that resolved to a public address when the endpoint was saved may resolve to
127.0.0.1 now: DNS rebinding). Redirects are not followed, every attempt ends within
TIMEOUT_SECONDS, and only the first RESPONSE_EXCERPT_BYTES of a reply are read.

Hand-written on urllib3 (already installed, under requests) rather than a library: the
SSRF-guard packages on PyPI are unmaintained (advocate: 2020, urllib3 1.x) or unproven."""

import ipaddress
import socket
import time
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

import urllib3
from django.conf import settings
from django.core.exceptions import ValidationError
from standardwebhooks.webhooks import Webhook
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

TIMEOUT_SECONDS = 10
RESPONSE_EXCERPT_BYTES = 2048
USER_AGENT = "Dialer-Webhooks/1"


class RefusedDestination(OSError):
    """The URL's host is (now) a loopback, private or link-local address."""


def address_allowed(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    if settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES:
        return not (ip.is_multicast or ip.is_unspecified)
    return ip.is_global


def public_address(host: str, port: int) -> str:
    """The first address `host` resolves to that we may connect to, or RefusedDestination."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise RefusedDestination(f"{host} does not resolve: {error.strerror}") from None
    addresses = [sockaddr[0] for *_, sockaddr in found]
    for address in addresses:
        if address_allowed(address):
            return address
    raise RefusedDestination(
        f"{host} resolves to {', '.join(dict.fromkeys(addresses))}: loopback, private and link-local "
        "addresses are refused (WEBHOOK_ALLOW_PRIVATE_ADDRESSES=true allows them)."
    )


class _CheckedAddress:
    """Connect to the checked address instead of letting the socket resolve the name
    again; TLS still verifies the certificate against the name."""

    def _new_conn(self):
        name = self._dns_host
        self._dns_host = public_address(name, self.port)
        try:
            return super()._new_conn()
        finally:
            self._dns_host = name


class _HTTPConnection(_CheckedAddress, HTTPConnection):
    pass


class _HTTPSConnection(_CheckedAddress, HTTPSConnection):
    pass


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


def _pool_manager() -> urllib3.PoolManager:
    manager = urllib3.PoolManager(num_pools=50, maxsize=4, retries=False)
    manager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}
    return manager


_manager = _pool_manager()


def check_url(url: str) -> None:
    """What saving an endpoint checks (delivery checks again at connect time)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError("The URL must start with https:// (or http://) and name a host.")
    try:
        public_address(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
    except RefusedDestination as error:
        raise ValidationError(str(error)) from None


@dataclass(frozen=True)
class Result:
    status_code: int | None
    response_ms: int
    excerpt: str = ""
    error: str = ""

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def signature_headers(message_id: str, body: str, secrets: list[str], now: datetime) -> dict[str, str]:
    """Standard Webhooks headers; one v1 signature per valid secret (rotation)."""
    signatures = [Webhook(secret).sign(message_id, now, body) for secret in secrets]
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": " ".join(signatures),
    }


def post(url: str, body: str, headers: dict[str, str]) -> Result:
    started = time.monotonic()

    def elapsed() -> int:
        return round((time.monotonic() - started) * 1000)

    try:
        response = _manager.request(
            "POST", url, body=body.encode(), redirect=False, preload_content=False,
            headers={**headers, "content-type": "application/json", "user-agent": USER_AGENT},
            timeout=urllib3.Timeout(total=TIMEOUT_SECONDS),
        )
    except RefusedDestination as error:
        return Result(None, elapsed(), error=str(error))
    except urllib3.exceptions.HTTPError as error:
        reason = getattr(error, "reason", None) or error
        return Result(None, elapsed(), error=str(reason)[:500])
    try:
        excerpt = response.read(RESPONSE_EXCERPT_BYTES, decode_content=False)
    except urllib3.exceptions.HTTPError:
        excerpt = b""
    finally:
        response.close()  # the rest of a long body is never read: the connection is dropped
    return Result(response.status, elapsed(), excerpt.decode("utf-8", "replace"))
