"""Callee behaviours from the scenario: busy, no-answer, failed, machines, recordings."""

from __future__ import annotations

import wave

import requests

from .conftest import ACCOUNT_SID, APP_NUMBER, AUTH_TOKEN

HOLD = "<Response><Pause length='20'/></Response>"


def place(client, product, to: str, **options):
    return client.calls.create(to=to, from_=APP_NUMBER, twiml=options.pop("twiml", HOLD),
                               status_callback=f"{product.url}/status",
                               status_callback_event=["initiated", "ringing", "answered",
                                                      "completed"], **options)


def statuses(product, sid: str) -> list[str]:
    callbacks = sorted(product.callbacks("/status", sid),
                       key=lambda r: int(r.params["SequenceNumber"]))
    return [r.params["CallStatus"] for r in callbacks]


def test_busy_no_answer_and_failed_numbers_end_with_their_status(client, emulator, product):
    busy = place(client, product, "+15005550104")
    no_answer = place(client, product, "+15005550105", timeout=1)
    failed = place(client, product, "+15005550108")

    for call, final in ((busy, "busy"), (no_answer, "no-answer"), (failed, "failed")):
        emulator.wait_for_status(call.sid, final, timeout=10)
    product.wait_for(lambda: statuses(product, no_answer.sid)[-1:] == ["no-answer"])

    assert statuses(product, busy.sid) == ["initiated", "ringing", "busy"]
    assert statuses(product, no_answer.sid) == ["initiated", "ringing", "no-answer"]
    assert statuses(product, failed.sid) == ["initiated", "failed"]
    codes = {r.params["CallSid"]: r.params["SipResponseCode"]
             for r in product.callbacks("/status") if "SipResponseCode" in r.params}
    assert codes == {busy.sid: "486", no_answer.sid: "487", failed.sid: "404"}
    assert client.calls(no_answer.sid).fetch().duration == "0"


def test_async_amd_reports_a_machine_after_its_beep(client, emulator, product):
    call = place(client, product, "+15005550106", machine_detection="DetectMessageEnd",
                 async_amd="true", async_amd_status_callback=f"{product.url}/amd")

    done = emulator.wait_for_status(call.sid, "completed", timeout=15)

    (amd,) = product.wait_for(lambda: product.callbacks("/amd", call.sid))
    assert amd.signature_valid
    assert amd.params["AnsweredBy"] == "machine_end_beep"
    assert amd.params["AccountSid"] == ACCOUNT_SID
    assert int(amd.params["MachineDetectionDuration"]) >= 1000  # greeting + beep
    kinds = [e["kind"] for e in done["timeline"]["entries"]]
    assert kinds.index("callee_beep") < kinds.index("amd_result")
    assert done["end_reason"] == "answering machine stopped recording"
    completed = product.wait_for(lambda: [r for r in product.callbacks("/status", call.sid)
                                          if r.params["CallStatus"] == "completed"])
    assert completed[0].params["AnsweredBy"] == "machine_end_beep"


def test_async_amd_reports_a_human(client, emulator, product):
    call = place(client, product, "+15005550199", machine_detection="Enable",
                 async_amd="true", async_amd_status_callback=f"{product.url}/amd")

    (amd,) = product.wait_for(lambda: product.callbacks("/amd", call.sid))

    assert amd.params["AnsweredBy"] == "human"
    assert client.calls(call.sid).fetch().answered_by == "human"
    client.calls(call.sid).update(status="completed")


def test_a_recorded_call_reports_and_serves_its_recording(client, emulator, product):
    call = place(client, product, "+15005550199", record=True,
                 twiml="<Response><Pause length='1'/></Response>")
    emulator.wait_for_status(call.sid, "completed", timeout=10)

    completed = product.wait_for(lambda: [r for r in product.callbacks("/status", call.sid)
                                          if r.params["CallStatus"] == "completed"])[0]
    url = completed.params["RecordingUrl"]
    assert completed.params["RecordingSid"].startswith("RE") and url.endswith(
        completed.params["RecordingSid"])
    audio = requests.get(url + ".wav", timeout=5)
    assert audio.status_code == 200 and audio.content[:4] == b"RIFF"
    path = emulator.emulator.data_dir / "recordings" / f"{completed.params['RecordingSid']}.wav"
    with wave.open(str(path)) as wav:
        assert wav.getnchannels() == 2 and wav.getnframes() >= 8000 * 0.9
    assert AUTH_TOKEN  # recordings need no credentials, like Twilio's default


def test_synchronous_amd_holds_the_twiml_request_until_it_knows(client, emulator, product):
    product.twiml["/voice"] = "<Response><Hangup/></Response>"
    call = client.calls.create(to="+15005550199", from_=APP_NUMBER, url=f"{product.url}/voice",
                               machine_detection="Enable")

    emulator.wait_for_status(call.sid, "completed", timeout=10)

    (request,) = product.callbacks("/voice", call.sid)
    assert request.params["AnsweredBy"] == "human"
    assert request.signature_valid
