"""CSV cells that a spreadsheet will not run as formulas (OWASP "CSV injection").

Every CSV this project hands to a person goes through `SafeWriter`: a cell that starts
with = + - @, a tab, CR or LF gets a leading apostrophe, so Excel, LibreOffice and Google
Sheets show it as text instead of evaluating it. The contact import strips that one
apostrophe again, so a downloaded file can be fixed and uploaded as it is."""

import csv
from collections.abc import Iterable
from typing import Any

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n")


def neutralise(value: Any) -> Any:
    """The value, made inert if it is text a spreadsheet would treat as a formula."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def unneutralise(value: str) -> str:
    """Undo `neutralise` on a cell read back from one of our own exports."""
    if value.startswith("'") and value[1:2] and value[1:].startswith(FORMULA_TRIGGERS):
        return value[1:]
    return value


class SafeWriter:
    """A csv.writer whose rows are neutralised; `write` returns the text for streaming."""

    class _Line:
        def write(self, text: str) -> str:
            return text

    def __init__(self) -> None:
        self._writer = csv.writer(self._Line())

    def row(self, values: Iterable[Any]) -> str:
        return self._writer.writerow([neutralise(v) for v in values])
