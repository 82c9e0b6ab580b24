"""Runs TwiML for one call: fetch documents, execute verbs, follow redirects."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from . import twiml
from .calls import Call
from .dial import Dialer
from .line import Line
from .media import MediaStream, StreamEvent
from .twiml import Document, TwimlError, Verb
from .webhooks import Webhooks


class Hangup:
    """Returned by a document that ended with <Hangup> or <Reject>."""

    def __init__(self, verb: str, reason: str = "") -> None:
        self.verb = verb
        self.reason = reason


Outcome = Document | Hangup | None  # None: the document ran out of verbs


class Interpreter:
    def __init__(self, call: Call, webhooks: Webhooks, auth_token: str, data_dir: Path,
                 handshake_timeout: float, stream_events: Callable[[Verb], StreamEvent],
                 dialer: Dialer) -> None:
        self.call = call
        self.webhooks = webhooks
        self.auth_token = auth_token
        self.data_dir = data_dir
        self.handshake_timeout = handshake_timeout
        self.stream_events = stream_events
        self.dialer = dialer
        self.timeline = call.timeline

    async def load(self, document: Document) -> list[Verb]:
        """The verbs of a document; TwimlError if it cannot be fetched or parsed."""
        if document.twiml is not None:
            source, text = "inline", document.twiml
        else:
            assert document.url is not None
            params = {**self.call.callback_parameters(), **dict(document.params)}
            reply = await self.webhooks.request(document.method, document.url, params)
            self.timeline.add("twiml_requested", url=document.url, method=document.method,
                              http_status=reply.status, error=reply.error)
            if not reply.ok:
                raise TwimlError(11200, "HTTP retrieval failure: "
                                        f"{reply.status or reply.error} from {document.url}")
            source, text = document.url, reply.text
        try:
            verbs = twiml.parse(text)
        except TwimlError as exc:
            self.timeline.add("twiml_rejected", source=source, document=text[:500],
                              code=exc.code)
            raise
        self.timeline.add("twiml", source=source, verbs=[verb.name for verb in verbs])
        return verbs

    async def execute(self, verbs: list[Verb], document: Document, line: Line) -> Outcome:
        for verb in verbs:
            outcome = await self._execute_verb(verb, document, line)
            if outcome is not None:
                return outcome
        return None

    async def _execute_verb(self, verb: Verb, document: Document, line: Line) -> Outcome:
        if verb.name == "Say":
            loop = int(verb.attributes.get("loop", "1") or 1)
            seconds = twiml.say_seconds(verb.text, loop)
            self.timeline.add("twiml_say", text=verb.text, seconds=round(seconds, 2),
                              voice=verb.attributes.get("voice", "man"))
            line.bot_says(seconds, verb.text)
            await asyncio.sleep(seconds)
        elif verb.name == "Pause":
            seconds = twiml.pause_seconds(verb)
            self.timeline.add("twiml_pause", seconds=seconds)
            await asyncio.sleep(seconds)
        elif verb.name in ("Hangup", "Reject"):
            self.timeline.add("twiml_" + verb.name.lower(), **verb.attributes)
            return Hangup(verb.name, verb.attributes.get("reason", ""))
        elif verb.name == "Redirect":
            target = document.resolve(verb.text)
            self.timeline.add("twiml_redirect", url=target)
            return Document(url=target, method=verb.attributes.get("method", "POST"))
        elif verb.name == "Connect":
            for noun in verb.children:
                if noun.name == "Stream":
                    await self._stream(noun, line)
                else:
                    self.timeline.add("twiml_skipped", verb=f"Connect/{noun.name}",
                                      note="not emulated")
            if "action" in verb.attributes:
                # Twilio requests the action URL when <Connect> ends and runs its TwiML.
                return Document(url=document.resolve(verb.attributes["action"]),
                                method=verb.attributes.get("method", "POST"))
        elif verb.name == "Dial":
            return await self.dialer.run(verb, document, line)
        else:
            self.timeline.add("twiml_skipped", verb=verb.name, note="not emulated")
        return None

    async def _stream(self, noun: Verb, line: Line) -> None:
        url = noun.attributes.get("url", "")
        parameters = {child.attributes.get("name", ""): child.attributes.get("value", "")
                      for child in noun.children if child.name == "Parameter"}
        if not url.startswith(("wss://", "ws://")):
            self.timeline.error("invalid stream url", code=31941, url=url)
            return
        stream = MediaStream(
            account_sid=self.call.account_sid,
            call_sid=self.call.sid,
            url=url,
            custom_parameters=parameters,
            line=line,
            timeline=self.timeline,
            auth_token=self.auth_token,
            app_audio_path=self.data_dir / "calls" / f"{self.call.sid}-from-app.wav",
            handshake_timeout=self.handshake_timeout,
            on_event=self.stream_events(noun),
        )
        await stream.run()
