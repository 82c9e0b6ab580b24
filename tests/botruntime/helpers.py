"""Placing calls through the emulator's REST API and listening to Channels groups."""

from __future__ import annotations

import base64
import json
import urllib.parse
import urllib.request
from xml.sax.saxutils import quoteattr

from tests.botruntime.conftest import ACCOUNT_SID, AUTH_TOKEN


def stream_twiml(stream_url: str, parameters: dict[str, str]) -> str:
    params = "".join(
        f"<Parameter name={quoteattr(k)} value={quoteattr(str(v))}/>" for k, v in parameters.items()
    )
    return f'<Response><Connect><Stream url="{stream_url}">{params}</Stream></Connect></Response>'


def dial(emulator, daphne, call, **extra_parameters) -> str:
    """Create the call like the dialer does (inline TwiML) and return its CallSid."""
    ws_url = daphne.base_url.replace("http://", "ws://") + "/twilio/stream/"
    parameters = {
        "call_id": call.pk,
        "customer_id": call.customer_id or "",
        "customer_name": call.customer.full_name if call.customer else "",
        "campaign_id": call.campaign.slug if call.campaign else "",
        "call_type": "outbound",
        **extra_parameters,
    }
    body = urllib.parse.urlencode({
        "To": call.to_number, "From": call.from_number,
        "Twiml": stream_twiml(ws_url, parameters),
    }).encode()
    request = urllib.request.Request(  # noqa: S310 (the local emulator)
        f"{emulator.base_url}/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json", data=body,
        headers={"Authorization": "Basic " + base64.b64encode(
            f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        sid = json.loads(response.read())["sid"]
    call.call_sid = sid
    call.save(update_fields=["call_sid"])
    return sid


def entries(snapshot: dict, kind: str) -> list[dict]:
    return [e for e in snapshot["timeline"]["entries"] if e["kind"] == kind]


