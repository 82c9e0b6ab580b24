"""A callee's `expect` step: the emulator recognises what the callee heard, on any leg."""

from __future__ import annotations

from twilio_emulator.hearing import match_ratio

from .conftest import APP_NUMBER, BRIEFING, speaking_bot, stream_to

AGENT = "+15005550205"  # expect: BRIEFING within 8 s, then "Thanks, put her through."


def heard(snapshot) -> dict:
    (entry,) = [e for e in snapshot["timeline"]["entries"] if e["kind"] == "callee_heard"]
    return entry


def test_an_agent_recognises_the_bots_briefing(client, emulator, product, tmp_path):
    product.stream_behaviours["/brief"] = speaking_bot(
        "You have a caller waiting: " + BRIEFING, tmp_path)
    call = client.calls.create(to=AGENT, from_=APP_NUMBER, twiml=stream_to(product, "/brief"))

    entry = product.wait_for(lambda: [e for e in emulator.get_call(call.sid)["timeline"]
                                      ["entries"] if e["kind"] == "callee_heard"], timeout=20)[0]

    assert entry["matched"] is True and entry["match"] >= 0.6
    assert entry["expected"] == BRIEFING
    said = product.wait_for(lambda: [e for e in emulator.get_call(call.sid)["timeline"]
                                     ["entries"] if e["kind"] == "callee_say"])
    assert said[0]["text"] == "Thanks, put her through." and said[0]["t"] > entry["t"] - 0.1
    client.calls(call.sid).update(status="completed")


def test_other_words_do_not_pass_the_check(client, emulator, product, tmp_path):
    product.stream_behaviours["/chat"] = speaking_bot(
        "Thank you for calling, we will send you an email with the details tomorrow.", tmp_path)
    call = client.calls.create(to=AGENT, from_=APP_NUMBER, twiml=stream_to(product, "/chat"))

    entry = product.wait_for(lambda: [e for e in emulator.get_call(call.sid)["timeline"]
                                      ["entries"] if e["kind"] == "callee_heard"], timeout=20)[0]

    assert entry["matched"] is False and entry["match"] < 0.5
    assert {"gold", "plan", "person"} & set(entry["missing"])
    assert entry["listened_seconds"] >= 8  # it kept listening for the whole `within`
    client.calls(call.sid).update(status="completed")
    product.wait_for(lambda: product.streams[0].closed_at is not None)


def test_a_dialled_agent_recognises_what_the_caller_tells_it(client, emulator, product):
    twiml = (f"<Response><Dial callerId='{APP_NUMBER}' timeout='5'><Number>{AGENT}</Number>"
             "</Dial></Response>")
    call = client.calls.create(to="+15005550302", from_=APP_NUMBER, twiml=twiml)  # says BRIEFING
    leg = product.wait_for(lambda: [c for c in emulator.calls()
                                    if c["parent_call_sid"] == call.sid])[0]

    entry = product.wait_for(lambda: [e for e in emulator.get_call(leg["sid"])["timeline"]
                                      ["entries"] if e["kind"] == "callee_heard"], timeout=20)[0]

    assert entry["matched"] is True
    client.calls(call.sid).update(status="completed")


def test_twiml_say_counts_as_heard_word_for_word(client, emulator, product):
    call = client.calls.create(to=AGENT, from_=APP_NUMBER,
                               twiml=f"<Response><Say>{BRIEFING}</Say><Pause length='5'/>"
                                     "</Response>")

    done = emulator.wait_for_status(call.sid, "completed", timeout=20)

    assert heard(done)["matched"] is True and heard(done)["match"] == 1.0


def test_the_share_of_words_heard_ignores_little_words():
    assert match_ratio("The plan is gold", "gold plan") == (1.0, [])
    assert match_ratio("Maria Lopez wants gold", "maria wants silver") == (0.5, ["lopez", "gold"])
