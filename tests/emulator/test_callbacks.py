"""Status callbacks: Twilio's parameters, signatures, sequence numbers, CPS pacing."""

from __future__ import annotations

import time
from datetime import datetime
from email.utils import parsedate_to_datetime
from itertools import pairwise

from .conftest import APP_NUMBER, SCENARIO, make_emulator

SAY_AND_HANG_UP = "<Response><Say>Hello</Say><Hangup/></Response>"
ALL_EVENTS = ["initiated", "ringing", "answered", "completed"]


def test_it_sends_every_requested_event_signed_and_numbered(client, emulator, product):
    call = client.calls.create(
        to="+15005550199", from_=APP_NUMBER, twiml=SAY_AND_HANG_UP,
        status_callback=f"{product.url}/status", status_callback_event=ALL_EVENTS,
    )

    emulator.wait_for_status(call.sid, "completed", timeout=10)
    callbacks = product.wait_for(lambda: len(product.callbacks("/status", call.sid)) == 4
                                 and product.callbacks("/status", call.sid))
    by_sequence = sorted(callbacks, key=lambda r: int(r.params["SequenceNumber"]))
    assert [r.params["SequenceNumber"] for r in by_sequence] == ["0", "1", "2", "3"]
    assert [r.params["CallStatus"] for r in by_sequence] == [
        "initiated", "ringing", "in-progress", "completed"]
    assert all(r.signature_valid for r in callbacks)
    first = by_sequence[0].params
    assert first["AccountSid"] == call.account_sid
    assert first["From"] == APP_NUMBER and first["To"] == "+15005550199"
    assert first["Direction"] == "outbound-api"
    assert first["ApiVersion"] == "2010-04-01"
    assert first["CallbackSource"] == "call-progress-events"
    assert parsedate_to_datetime(first["Timestamp"]).tzinfo is not None
    completed = by_sequence[-1].params
    assert int(completed["CallDuration"]) >= 1  # rounded up: even a short call lasts a second
    assert completed["Duration"] == "1"  # minutes, rounded up
    assert completed["SipResponseCode"] == "200"
    timeline = emulator.get_call(call.sid)["timeline"]["entries"]
    answers = [e["http_status"] for e in timeline if e["kind"] == "status_callback"]
    assert answers == [200, 200, 200, 200]


def test_a_tampered_callback_fails_validation(client, emulator, product):
    call = client.calls.create(to="+15005550199", from_=APP_NUMBER, twiml=SAY_AND_HANG_UP,
                               status_callback=f"{product.url}/status")
    emulator.wait_for_status(call.sid, "completed", timeout=10)
    (callback,) = product.wait_for(lambda: product.callbacks("/status", call.sid))
    signature = product.validator.compute_signature(f"{product.url}/status", callback.params)

    tampered = {**callback.params, "CallStatus": "busy"}
    assert product.validator.validate(f"{product.url}/status", callback.params, signature)
    assert not product.validator.validate(f"{product.url}/status", tampered, signature)


def test_connection_overrides_retry_a_failed_callback_and_are_signed_but_never_sent(
        client, emulator, product):
    product.failures_left["/status"] = 2
    url = f"{product.url}/status?call_id=7#rc=3&rp=5xx"
    call = client.calls.create(to="+15005550199", from_=APP_NUMBER, twiml=SAY_AND_HANG_UP,
                               status_callback=url)

    emulator.wait_for_status(call.sid, "completed", timeout=10)
    attempts = product.wait_for(lambda: len(product.callbacks("/status", call.sid)) == 3
                                and product.callbacks("/status", call.sid))
    last = attempts[-1]
    assert last.path == "/status" and last.at - attempts[0].at >= 3  # 1 s, then 2 s apart
    # Signed over the URL as configured, fragment and all; the request itself had none.
    assert not last.signature_valid
    assert product.validator.validate(url, last.params, last.signature)
    # The timeline entry is written once the last attempt's answer is back, a moment after
    # the receiver saw it.
    (delivered,) = product.wait_for(lambda: [e for e in emulator.get_call(call.sid)["timeline"]["entries"]
                                             if e["kind"] == "status_callback"])
    assert delivered["http_status"] == 200 and delivered["attempts"] == 3


def test_a_failure_outside_the_retry_policy_is_not_retried(client, emulator, product):
    product.failures_left["/status"] = 1
    call = client.calls.create(to="+15005550199", from_=APP_NUMBER, twiml=SAY_AND_HANG_UP,
                               status_callback=f"{product.url}/status#rc=2&rp=ct")  # not a 5xx
    emulator.wait_for_status(call.sid, "completed", timeout=10)
    product.wait_for(lambda: product.callbacks("/status", call.sid))
    time.sleep(1.5)  # when a retry would have come
    assert len(product.callbacks("/status", call.sid)) == 1


def test_by_default_only_the_completed_event_is_sent(client, emulator, product):
    call = client.calls.create(to="+15005550199", from_=APP_NUMBER, twiml=SAY_AND_HANG_UP,
                               status_callback=f"{product.url}/status")

    emulator.wait_for_status(call.sid, "completed", timeout=10)
    (callback,) = product.wait_for(lambda: product.callbacks("/status", call.sid))
    assert callback.params["CallStatus"] == "completed"
    assert callback.params["SequenceNumber"] == "0"


def test_it_requests_twiml_from_url_with_a_signed_post(client, emulator, product):
    product.twiml["/voice"] = SAY_AND_HANG_UP
    call = client.calls.create(to="+15005550199", from_=APP_NUMBER, url=f"{product.url}/voice")

    emulator.wait_for_status(call.sid, "completed", timeout=10)
    (request,) = product.callbacks("/voice", call.sid)
    assert request.signature_valid
    assert request.params["CallStatus"] == "in-progress"
    assert request.params["Direction"] == "outbound-api"
    assert request.params["AccountSid"] == call.account_sid


def test_the_cps_limit_paces_calls_without_refusing_them(client, product, tmp_path):
    with make_emulator(product, tmp_path, cps=1) as emulator:
        client.api.base_url = emulator.base_url
        sids = [client.calls.create(to="+15005550199", from_=APP_NUMBER,
                                    twiml="<Response><Hangup/></Response>").sid
                for _ in range(3)]

        assert {emulator.get_call(sid)["status"] for sid in sids} <= {"queued", "initiated",
                                                                      "ringing"}
        calls = [emulator.wait_for_status(sid, "completed", timeout=10) for sid in sids]

    started = [next(datetime.fromisoformat(e["at"]).timestamp()
                    for e in call["timeline"]["entries"] if e.get("status") == "initiated")
               for call in calls]
    gaps = [later - earlier for earlier, later in pairwise(started)]
    assert all(gap >= 0.95 for gap in gaps), gaps



def test_a_lost_webhook_never_reaches_the_app_and_its_failure_is_on_the_timeline(client, emulator, product):
    with emulator.lose_webhooks(r"/status$", CallStatus="in-progress"):
        call = client.calls.create(to="+15005550199", from_=APP_NUMBER, twiml=SAY_AND_HANG_UP,
                                   status_callback=f"{product.url}/status#rc=3&rp=all",
                                   status_callback_event=ALL_EVENTS)
        emulator.wait_for_status(call.sid, "completed", timeout=10)
        delivered = product.wait_for(lambda: len(product.callbacks("/status", call.sid)) == 3
                                     and product.callbacks("/status", call.sid))

    assert sorted(r.params["CallStatus"] for r in delivered) == ["completed", "initiated", "ringing"]
    (lost,) = [e for e in emulator.get_call(call.sid)["timeline"]["entries"]
               if e["kind"] == "error" and e["params"].get("CallStatus") == "in-progress"]
    assert "lose_webhooks" in lost["error"] and lost["code"] == 11205
    again = client.calls.create(to="+15005550199", from_=APP_NUMBER, twiml=SAY_AND_HANG_UP,
                                status_callback=f"{product.url}/status", status_callback_event=["answered"])
    emulator.wait_for_status(again.sid, "completed", timeout=10)
    product.wait_for(lambda: product.callbacks("/status", again.sid))  # outside the block: delivered


def test_a_scenario_can_lose_the_first_matching_webhooks(client, product, tmp_path):
    scenario = {**SCENARIO, "lose_webhooks": [{"url": "/voice$", "times": 1}]}
    product.twiml["/voice"] = SAY_AND_HANG_UP
    with make_emulator(product, tmp_path, scenario=scenario) as emulator:
        client.api.base_url = emulator.base_url
        first, second = (client.calls.create(to="+15005550199", from_=APP_NUMBER, url=f"{product.url}/voice")
                         for _ in range(2))
        timelines = [emulator.wait_for_status(c.sid, "completed", timeout=15)["timeline"]["entries"]
                     for c in (first, second)]

    # Twilio could not fetch the first call's TwiML: an application error, as on Twilio.
    assert [e["code"] for e in timelines[0] if e["kind"] == "error"] == [11200]
    assert not product.callbacks("/voice", first.sid)
    assert product.callbacks("/voice", second.sid)
    assert [e["text"] for e in timelines[1] if e["kind"] == "twiml_say"] == ["Hello"]
