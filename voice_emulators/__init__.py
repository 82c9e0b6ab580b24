"""Offline stand-ins for the cloud voice stack's services — Deepgram live transcription,
OpenAI chat completions, Cartesia TTS over WebSocket — on one aiohttp server (README.md)."""

from .server import VoiceEmulators, VoiceEmulatorsThread
from .state import Fault

__all__ = ["Fault", "VoiceEmulators", "VoiceEmulatorsThread"]
