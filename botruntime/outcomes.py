"""What a call can come to, and which voice stack holds the conversation: the vocabulary the
bot speaks in, which the product stores (Lead.last_outcome, Call.disposition,
Campaign.voice_stack)."""

from django.db import models


class Disposition(models.TextChoices):
    """What came of a call, as set by the bot or by Twilio's final status."""

    INTERESTED = "interested", "Interested"
    NOT_INTERESTED = "not_interested", "Not interested"
    CALLBACK_REQUESTED = "callback_requested", "Callback requested"
    WRONG_NUMBER = "wrong_number", "Wrong number"
    DO_NOT_CALL = "do_not_call", "Do not call"
    VOICEMAIL = "voicemail", "Voicemail left"
    NO_ANSWER = "no_answer", "No answer"
    BUSY = "busy", "Busy"
    FAILED = "failed", "Failed"
    HUNG_UP = "hung_up", "Hung up"
    TRANSFERRED = "transferred", "Transferred to a person"
    COMPLETED = "completed", "Completed without outcome"


class VoiceStack(models.TextChoices):
    LITE = "lite", "Lite (offline, lightest: pocketsphinx, espeak-ng, scripted agent)"
    NATURAL = "natural", "Natural (offline: Whisper, Piper, scripted agent)"
    CLOUD = "cloud", "Cloud (Deepgram, OpenAI, Cartesia)"
