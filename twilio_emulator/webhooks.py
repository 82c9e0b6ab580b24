"""Signed HTTP requests from "Twilio" to the app: status callbacks, TwiML, AMD results.

Every request is signed with X-Twilio-Signature. Nothing the app does (errors, timeouts,
refused connections) raises out of here: it is written on the call's timeline instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

import aiohttp

from .signing import SIGNATURE_HEADER, sign
from .timeline import Timeline

USER_AGENT = "TwilioProxy/1.1"


@dataclass
class Reply:
    status: int | None  # None: no HTTP answer at all
    text: str = ""
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class Webhooks:
    def __init__(self, session: aiohttp.ClientSession, auth_token: str,
                 timeout_seconds: float) -> None:
        self.session = session
        self.auth_token = auth_token
        self.timeout = aiohttp.ClientTimeout(total=timeout_seconds)

    async def request(self, method: str, url: str, params: Mapping[str, str]) -> Reply:
        """POST the parameters as a form, or GET with them in the query string."""
        method = method.upper() if method.upper() in ("GET", "POST") else "POST"
        if method == "GET":
            separator = "&" if urlsplit(url).query else "?"
            url = f"{url}{separator}{urlencode(params)}" if params else url
            signature, body = sign(self.auth_token, url), None
        else:
            signature, body = sign(self.auth_token, url, params), dict(params)
        headers = {SIGNATURE_HEADER: signature, "User-Agent": USER_AGENT,
                   "Accept": "*/*", "Cache-Control": "max-age=259200"}
        try:
            async with self.session.request(method, url, data=body, headers=headers,
                                            timeout=self.timeout) as response:
                return Reply(response.status, await response.text(errors="replace"))
        except TimeoutError:
            return Reply(None, error=f"timed out after {self.timeout.total:g} s")
        except (aiohttp.ClientError, ValueError, OSError) as exc:
            return Reply(None, error=f"{type(exc).__name__}: {exc}")

    async def notify(self, timeline: Timeline, kind: str, method: str, url: str,
                     params: Mapping[str, str]) -> Reply:
        """A fire-and-forget callback: its answer is only recorded."""
        reply = await self.request(method, url, params)
        details = {"url": url, "http_status": reply.status, "params": dict(params)}
        if reply.ok:
            timeline.add(kind, **details)
        else:
            # Twilio's debugger: 11200 HTTP retrieval failure, 11205 connection failure.
            timeline.error(f"{kind} failed", code=11200 if reply.status else 11205,
                           error=reply.error or reply.text[:200], **details)
        return reply
