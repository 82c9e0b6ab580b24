"""Configuration problems as Django system checks: `manage.py check` (and every command
that runs the checks — migrate, `make run`) names the setting and what to do about it.

A setting no process can start without (SECRET_KEY, signatures off in production) stays an
ImproperlyConfigured in settings.py instead: daphne and Celery never run the checks."""

from django.conf import settings
from django.core.checks import Error, register

BOT_SERVICES = ("", "standin", "lite", "natural")
TURN_DETECTIONS = ("smart", "silence")
# Longer and a caller who has finished waits in silence long enough to think the line dead.
MAX_SILENCE_TIMEOUT_SECS = 5.0


@register()
def bot_runtime_settings(app_configs, **kwargs) -> list[Error]:
    errors = []
    if settings.BOT_SERVICES not in BOT_SERVICES:
        errors.append(Error(
            f"BOT_SERVICES={settings.BOT_SERVICES!r} is not a choice.",
            hint="Leave it empty (each campaign's own voice stack), or for benchmarks set it to "
            "'standin' (fixed-latency stand-ins) or 'lite' / 'natural' (every call on that stack).",
            id="dialer.E001",
        ))
    if settings.BOT_ASR_WORKERS < 0:
        errors.append(Error(
            f"BOT_ASR_WORKERS={settings.BOT_ASR_WORKERS} is negative.",
            hint="Set a number of speech worker processes, or 0 for one per core.",
            id="dialer.E002",
        ))
    if settings.BOT_TURN_DETECTION not in TURN_DETECTIONS:
        errors.append(Error(
            f"BOT_TURN_DETECTION={settings.BOT_TURN_DETECTION!r} is not a choice.",
            hint="Set it to 'smart' (Smart Turn decides when the caller has finished) or "
            "'silence' (a fixed silence timeout).",
            id="dialer.E004",
        ))
    from botruntime.vad import PHONE_VAD_PARAMS

    if not PHONE_VAD_PARAMS.stop_secs <= settings.BOT_SILENCE_TIMEOUT_SECS <= MAX_SILENCE_TIMEOUT_SECS:
        errors.append(Error(
            f"BOT_SILENCE_TIMEOUT_SECS={settings.BOT_SILENCE_TIMEOUT_SECS:g} is not between "
            f"{PHONE_VAD_PARAMS.stop_secs:g} and {MAX_SILENCE_TIMEOUT_SECS:g} seconds.",
            hint=f"The silence timeout starts after the VAD's {PHONE_VAD_PARAMS.stop_secs:g} s pause; "
            "0.8 (the default) answers soonest, 1.2 cut no caller who paused mid-sentence off on the "
            "voice bench.",
            id="dialer.E008",
        ))
    return errors


@register()
def voice_models(app_configs, **kwargs) -> list[Error]:
    """The natural stack's and the intent encoder's model files: a missing one is named
    by its setting here, at start-up, not in the middle of the first call."""
    from botruntime.weights import problems

    return [Error(
        f"{problem.setting}: {problem.detail}.",
        hint=f"Point {problem.setting} at the model, or leave it empty for the packaged one.",
        id="dialer.E005",
    ) for problem in problems(settings.WHISPER_MODEL_PATH, settings.PIPER_VOICE_PATH,
                              settings.INTENT_MODEL_PATH)]


@register()
def twilio_settings(app_configs, **kwargs) -> list[Error]:
    if settings.TWILIO_CALLS_PER_SECOND > 0:
        return []
    return [Error(
        f"TWILIO_CALLS_PER_SECOND={settings.TWILIO_CALLS_PER_SECOND:g} would never place a call.",
        hint="Set the account's calls per second (1 for a new Twilio account).",
        id="dialer.E003",
    )]


@register()
def web_process_settings(app_configs, **kwargs) -> list[Error]:
    errors = []
    if settings.MEDIA_STREAMS_PER_PROCESS < 1:
        errors.append(Error(
            f"MEDIA_STREAMS_PER_PROCESS={settings.MEDIA_STREAMS_PER_PROCESS} would refuse every call.",
            hint="Set how many calls one web process holds (8 was measured; see the README's sizing).",
            id="dialer.E006",
        ))
    if settings.MEDIA_ADMISSION_LAG_P95_MS <= 0 or settings.WEB_HEARTBEAT_SECONDS <= 0:
        errors.append(Error(
            "MEDIA_ADMISSION_LAG_P95_MS and WEB_HEARTBEAT_SECONDS must be positive.",
            hint="Leave them unset for the defaults (100 ms, 2 s).",
            id="dialer.E007",
        ))
    return errors
