"""The bot runtime: Pipecat pipelines for Twilio media streams, run inside daphne.

`warm_up()` loads what every call shares (the Silero and Smart Turn sessions, the speech
worker processes) once at start-up, so the first call does not stall the event loop loading them,
and routes Pipecat's logs into Python logging.
"""

import logging

logger = logging.getLogger(__name__)
_warm = False


def route_pipecat_logs() -> None:
    """Send Pipecat's loguru records through Python logging, at the project's LOG_LEVEL.

    Pipecat logs with loguru, whose default sink prints everything from DEBUG up to stderr:
    a line for nearly every frame of every call, in its own format, whatever LOGGING says.
    Here loguru has one sink that hands each record to the Python logger of the same name
    (`pipecat.services.stt_service`, ...), so LOGGING's level, handlers and JSON format
    apply; loguru itself drops records below that level before formatting them.
    """
    from loguru import logger as loguru_logger

    loguru_logger.remove()
    loguru_logger.add(_to_logging, level=logging.getLogger("pipecat").getEffectiveLevel(),
                      format="{message}")


def _to_logging(message) -> None:
    record = message.record
    target = logging.getLogger(record["name"] or "pipecat")
    level = record["level"].no  # loguru's numbers are logging's (TRACE is 5)
    if not target.isEnabledFor(level):
        return
    exception = record["exception"]
    target.handle(target.makeRecord(
        target.name, level, record["file"].path, record["line"], record["message"], (),
        (exception.type, exception.value, exception.traceback) if exception else None,
        func=record["function"],
    ))


def warm_up() -> None:
    global _warm
    if _warm:
        return
    _warm = True
    route_pipecat_logs()
    from django.conf import settings

    if not settings.BOT_WARM_UP:
        return
    from botruntime import asr, intents, turns, vad
    from botruntime.script import DEFAULT_SCRIPT, vocabulary

    vad.shared_session()
    turns.shared_session()
    intents.encoder_files()
    try:
        asr.warm_up(vocabulary(DEFAULT_SCRIPT))
    except Exception:
        logger.exception("pocketsphinx workers did not start; lite calls will start them later")
    from botruntime import natural

    try:
        natural.warm_up(DEFAULT_SCRIPT)
    except Exception:
        logger.exception("Whisper and Piper were not found; natural calls will fail")
