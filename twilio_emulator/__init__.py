"""An offline Twilio for development, demos and tests (see README.md)."""

from .emulator import Emulator, EmulatorThread
from .runner import Timing
from .scenario import Scenario

__all__ = ["Emulator", "EmulatorThread", "Scenario", "Timing"]
