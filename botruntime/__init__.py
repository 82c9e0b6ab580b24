"""The bot runtime: Pipecat pipelines for Twilio media streams, run inside daphne.

`warm_up()` loads what every call shares (the Silero session, the pocketsphinx worker
processes) once at start-up, so the first call does not stall the event loop loading them.
"""

import logging
import os

logger = logging.getLogger(__name__)
_warm = False


def warm_up() -> None:
    global _warm
    if _warm or os.environ.get("BOT_WARM_UP", "true").lower() == "false":
        return
    _warm = True
    from botruntime import asr, vad
    from botruntime.script import DEFAULT_SCRIPT, vocabulary

    vad.shared_session()
    try:
        asr.warm_up(vocabulary(DEFAULT_SCRIPT))
    except Exception:
        logger.exception("pocketsphinx workers did not start; local calls will start them later")
