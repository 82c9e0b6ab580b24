"""The TwiML our calls run, built with the twilio package's VoiceResponse: the bot's media
stream, and the hand-off to a person (calls.transfers)."""

from twilio.twiml.voice_response import VoiceResponse

from calls.twilio_auth import public_websocket_url

# Routed in dialer_site/routing.py; fixed because the Twilio console is configured with it.
MEDIA_STREAM_PATH = "/twilio/stream/"
# What Twilio runs after a <Dial> whose action answers nothing more: the call ends.
HANG_UP = str(VoiceResponse())


def connect_to_bot(call, **parameters: str) -> str:
    """<Connect><Stream> to our media-stream socket; Twilio hands the call's <Parameter>s
    to the bot in the stream's `start` message (it drops query strings, so no data goes in
    the URL). `parameters` add to the call's own (e.g. resume= for a caller back from a
    hand-off). Our call id comes last, so no contact-list column can shadow it."""
    response = VoiceResponse()
    connect = response.connect()
    stream = connect.stream(url=public_websocket_url(MEDIA_STREAM_PATH))
    for name, value in {**call.parameters, **parameters, "call_id": str(call.pk)}.items():
        stream.parameter(name=name, value=str(value))
    return str(response)


def dial_number(number: str, *, caller_id: str, timeout: int, action: str, answered: str) -> str:
    """A cold hand-off: ring `number` for `timeout` seconds showing `caller_id`. Twilio tells
    `answered` the moment the agent answers, and asks `action` what the caller does next
    once the agent's leg has ended (or never started)."""
    response = VoiceResponse()
    dial = response.dial(caller_id=caller_id, timeout=timeout, action=action, method="POST")
    dial.number(number, status_callback_event="answered", status_callback=answered,
                status_callback_method="POST")
    return str(response)


def conference(name: str, *, wait_url: str, status_callback: str, starts: bool) -> str:
    """A warm hand-off's room. The caller waits in it (`starts` False: the music `wait_url`
    plays until the agent comes); the agent's entry starts it. Either one leaving ends
    it, so nobody is left alone on the line."""
    response = VoiceResponse()
    dial = response.dial()
    dial.conference(
        name, wait_url=wait_url, wait_method="POST", start_conference_on_enter=starts,
        end_conference_on_exit=True, beep=False, status_callback=status_callback,
        status_callback_event="start end join leave", status_callback_method="POST",
    )
    return str(response)
