"""Listening in on a live call. A staff page asks the call's bot consumer (over the call's
bot group) to publish the call's audio, both sides, to the call's listen group; the bot
session then hands every audio frame to an `AudioTap`, which sends them on ten times a
second. Only while someone listens: each listener's request holds for LEASE_SECONDS and the
page renews it every RENEW_SECONDS, so a page that vanished without a word stops costing
the call anything soon after; with nobody listening the session holds no tap at all."""

import asyncio
import base64
import time

LEASE_SECONDS = 15.0
RENEW_SECONDS = 5.0
FLUSH_SECONDS = 0.1  # 100 ms of audio a message: real time enough, 20 messages a second


def listen_group(call_sid: str) -> str:
    return f"listen-{call_sid}"


class AudioTap:
    """The bot consumer's side: who listens, and the audio waiting to go to them."""

    def __init__(self, channel_layer, call_sid: str, session):
        self.channel_layer = channel_layer
        self.call_sid = call_sid
        self.session = session
        self.leases: dict[str, float] = {}  # listener's channel name → when its request lapses
        self.audio = {"caller": bytearray(), "bot": bytearray()}
        self.rates = {"caller": 8000, "bot": 8000}
        self.task: asyncio.Task | None = None

    def start(self, listener: str) -> None:
        self.leases[listener] = time.monotonic() + LEASE_SECONDS
        self.session.listen = self.hear
        if self.task is None:
            self.task = asyncio.get_running_loop().create_task(self._publish())

    def stop(self, listener: str) -> None:
        self.leases.pop(listener, None)
        if not self.leases:
            self.session.listen = None

    def hear(self, side: str, pcm: bytes, sample_rate: int) -> None:
        """Called by the session for every audio frame while someone listens."""
        self.audio[side] += pcm
        self.rates[side] = sample_rate

    async def _publish(self) -> None:
        try:
            while True:
                await asyncio.sleep(FLUSH_SECONDS)
                now = time.monotonic()
                self.leases = {name: until for name, until in self.leases.items() if until > now}
                if not self.leases:
                    return
                for side, pcm in self.audio.items():
                    if pcm:
                        chunk = base64.b64encode(pcm).decode("ascii")
                        pcm.clear()
                        await self.channel_layer.group_send(listen_group(self.call_sid), {
                            "type": "listen.audio", "side": side, "rate": self.rates[side], "pcm": chunk})
        finally:
            self.session.listen = None
            for pcm in self.audio.values():
                pcm.clear()
            self.task = None

    async def close(self) -> None:
        """The call's stream ended: tell whoever listens."""
        if self.task is not None:
            self.task.cancel()
        if self.leases:
            self.leases = {}
            await self.channel_layer.group_send(listen_group(self.call_sid), {"type": "listen.ended"})
