"""Hooks for watching every bot session from outside, without botruntime knowing who watches.

The product attaches its metrics here (calls.metrics); each hook is a plain callable taking
seconds, called on the event loop, so it must be quick and never raise."""

from collections.abc import Callable

Observer = Callable[[float], None]

# Between two audio frames sent to Twilio within one stretch of bot speech.
frame_gap: list[Observer] = []
# From the moment the caller stopped speaking to the bot's first audio in answer.
turn_latency: list[Observer] = []


def tell(observers: list[Observer], seconds: float) -> None:
    for observe in observers:
        observe(seconds)
