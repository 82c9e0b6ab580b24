"""Parsing TwiML documents into verbs the call interpreter can run."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from urllib.parse import urljoin

# Verbs and nouns Twilio knows. Ones the emulator does not act on are logged and skipped;
# anything else is a schema error, which on Twilio ends the call with an application error.
EMULATED_VERBS = {"Say", "Pause", "Hangup", "Redirect", "Connect", "Reject", "Dial"}
KNOWN_VERBS = EMULATED_VERBS | {
    "Play", "Gather", "Record", "Enqueue", "Leave", "Start", "Stop", "Refer",
    "Sms", "Message", "Pay", "Prompt", "Echo", "Queue", "Siprec", "Transcription",
}
MAX_DOCUMENT_BYTES = 64 * 1024  # Twilio error 11750 above this


class TwimlError(Exception):
    """A document Twilio would refuse, with the error code its debugger would show."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass
class Verb:
    name: str
    attributes: dict[str, str] = field(default_factory=dict)
    text: str = ""
    children: list[Verb] = field(default_factory=list)

    @classmethod
    def from_element(cls, element: ElementTree.Element) -> Verb:
        return cls(
            name=element.tag,
            attributes=dict(element.attrib),
            text=(element.text or "").strip(),
            children=[cls.from_element(child) for child in element],
        )


@dataclass(frozen=True)
class Document:
    """Where the next TwiML comes from: a URL to request, or inline text."""

    url: str | None = None
    method: str = "POST"
    twiml: str | None = None
    # Sent with the request besides the call's own parameters (a <Dial> action's results).
    params: tuple[tuple[str, str], ...] = ()

    def resolve(self, reference: str) -> str:
        """An absolute URL for a <Redirect>/action, relative to this document's URL."""
        target = urljoin(self.url or "", reference.strip())
        if not target.startswith(("http://", "https://")):
            raise TwimlError(11100, f"Invalid URL format: {reference!r}")
        return target


def parse(document: str) -> list[Verb]:
    """The verbs of a `<Response>` document, or TwimlError."""
    if len(document.encode()) > MAX_DOCUMENT_BYTES:
        raise TwimlError(11750, "TwiML response body too large")
    try:
        # The document comes from the developer's own app. Python's expat resolves no
        # external entities and (expat >= 2.4.1) caps entity expansion.
        root = ElementTree.fromstring(document.strip())  # noqa: S314
    except ElementTree.ParseError as exc:
        raise TwimlError(12100, f"Document parse failure: {exc}") from exc
    if root.tag != "Response":
        raise TwimlError(12100, f"Document parse failure: root element is <{root.tag}>, "
                                "not <Response>")
    verbs = [Verb.from_element(child) for child in root]
    for verb in verbs:
        if verb.name not in KNOWN_VERBS:
            raise TwimlError(12200, f"Schema validation warning: unknown verb <{verb.name}>")
    return verbs


def say_seconds(text: str, loop: int = 1) -> float:
    """Roughly how long Twilio's text-to-speech takes to say `text` (~150 words/min)."""
    words = len(re.findall(r"\w+", text))
    return max(0.5, words / 2.5) * max(1, loop)


def pause_seconds(verb: Verb) -> float:
    try:
        return max(0.0, float(verb.attributes.get("length", "1")))
    except ValueError:
        return 1.0
