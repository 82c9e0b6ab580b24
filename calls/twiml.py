"""The TwiML that connects a call to our bot, built with the twilio package's VoiceResponse."""

from twilio.twiml.voice_response import VoiceResponse

from calls.twilio_auth import public_websocket_url

# Routed in dialer_site/routing.py; fixed because the Twilio console is configured with it.
MEDIA_STREAM_PATH = "/twilio/stream/"


def connect_to_bot(call) -> str:
    """<Connect><Stream> to our media-stream socket; Twilio hands the call's <Parameter>s
    to the bot in the stream's `start` message (it drops query strings, so no data goes in
    the URL). Our call id comes last, so no contact-list column can shadow it."""
    response = VoiceResponse()
    connect = response.connect()
    stream = connect.stream(url=public_websocket_url(MEDIA_STREAM_PATH))
    for name, value in {**call.parameters, "call_id": str(call.pk)}.items():
        stream.parameter(name=name, value=str(value))
    return str(response)
