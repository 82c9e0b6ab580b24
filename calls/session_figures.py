"""A call's bot-session figures (Call.metrics, as botruntime's session writes them) in the
words the call page shows: one row a figure, no raw lists or dicts."""

import statistics

SERVICE_NAMES = {"stt": "speech recognition", "llm": "language model", "tts": "speech synthesis"}


def _ms_list(values: list) -> str:
    return f"median {round(statistics.median(values))} ms, slowest {max(values)} ms, of {len(values)}"


def _reply_time(metrics: dict) -> str:
    replies = metrics.get("caller_stop_to_bot_audio_ms") or []
    return _ms_list(replies) if replies else "none measured (the bot never answered a caller's turn)"


def _first_byte(by_service: dict) -> str:
    parts = [f"{SERVICE_NAMES.get(kind, kind)}: {_ms_list(values)}"
             for kind, values in sorted(by_service.items()) if values]
    return "; ".join(parts) or "none measured"


def _interruptions(cuts: list) -> str:
    if not cuts:
        return "none"
    return "; ".join(f"after {cut['heard_secs']} s ({cut['words_heard']} of {cut['words']} words heard)"
                     for cut in cuts)


def _service_errors(errors: dict) -> str:
    return "; ".join(f"{SERVICE_NAMES.get(kind, kind)}: {' / '.join(messages)}"
                     for kind, messages in sorted(errors.items()) if messages) or "none"


def _marks(metrics: dict) -> str:
    return f"{metrics['marks_sent']} sent, {metrics.get('marks_echoed', 0)} played to the caller"


# (label, the keys it reads, how it reads them), in the order the page shows them.
ROWS = [
    ("Reply time (caller stops → bot speaks)", "caller_stop_to_bot_audio_ms", _reply_time),
    ("Time to first byte", "ttfb_ms", lambda m: _first_byte(m["ttfb_ms"])),
    ("Caller cut in", "interruptions", lambda m: _interruptions(m["interruptions"])),
    ("Service errors", "service_errors", lambda m: _service_errors(m["service_errors"])),
    ("Session length", "duration_ms", lambda m: f"{m['duration_ms'] / 1000:.1f} s"),
    ("Ended because", "end_reason", lambda m: m["end_reason"] or "—"),
    ("Audio marks", "marks_sent", _marks),
    ("Caller audio dropped", "input_dropped", lambda m: f"{m['input_dropped']} frames"),
    ("Session failed", "session_failed", lambda m: "yes" if m["session_failed"] else "no"),
]
SHOWN_WITH_OTHERS = {"caller_stop_to_bot_audio_median_ms", "marks_echoed"}


def session_figures(metrics: dict | None) -> list[tuple[str, str]]:
    """(label, value) rows for the figures `metrics` holds; a figure this module does not know
    (written by a newer bot runtime) is shown by its name, as it is."""
    metrics = metrics or {}
    rows = [(label, read(metrics)) for label, key, read in ROWS if key in metrics]
    known = {key for _label, key, _read in ROWS} | SHOWN_WITH_OTHERS
    rows += [(name.replace("_", " ").capitalize(), str(value))
             for name, value in sorted(metrics.items()) if name not in known]
    return rows
