"""Reading an uploaded CSV the way a person meant it: encoding, delimiter, header, rows.

Everything here streams: the file is sniffed from its first 64 KB and then read record
by record, so a 50 MB upload never sits in memory."""

import codecs
import contextlib
import csv
import io
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO, NamedTuple

import charset_normalizer

SAMPLE_BYTES = 64 * 1024
# The csv module's own limit is exactly 128 KB and it raises mid-row when a field is
# longer. Raised well above our per-field limit (MAX_FIELD_CHARS) so the reader stays in
# step and we reject just that row with a reason; still bounded, so a stray unclosed quote
# cannot pull the rest of a 50 MB file into one field.
CSV_FIELD_LIMIT = 8 * 1024 * 1024
csv.field_size_limit(CSV_FIELD_LIMIT)

DELIMITERS = ",;\t|"
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}

# What people upload by mistake, recognised by the first bytes.
BINARY_SIGNATURES = {
    b"PK\x03\x04": "an Excel workbook (.xlsx) or a zip archive",
    b"\xd0\xcf\x11\xe0": "an Excel 97-2003 workbook (.xls)",
    b"%PDF": "a PDF document",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"\x1f\x8b": "a gzip archive",
}
SAVE_AS_CSV = "In your spreadsheet use File > Save as > CSV, then upload that file."

Opener = Callable[[], BinaryIO]


class ImportFileError(Exception):
    """The file as a whole cannot be imported; the message says why, for a person."""


@dataclass(frozen=True)
class CsvFormat:
    encoding: str
    delimiter: str


class Record(NamedTuple):
    """One CSV record. (A NamedTuple, not a dataclass: made twice per row of a big file,
    once counting and once importing, and half the cost to build.)"""

    line: int  # the physical line where the record starts; the file's first line is 1
    values: list[str] | None  # None when the csv module could not read this record
    error: str = ""

    @property
    def is_blank(self) -> bool:
        # Blank when no value has anything but whitespace: one join, not a strip per value.
        return self.values is not None and not "".join(self.values).strip()


def detect_format(stream: BinaryIO) -> CsvFormat:
    """Sniff encoding and delimiter from the start of the file, then rewind it."""
    sample = stream.read(SAMPLE_BYTES)
    stream.seek(0)
    encoding = sniff_encoding(sample)
    text = codecs.getincrementaldecoder(encoding)(errors="replace").decode(sample, final=False)
    lines = [line for line in text.splitlines() if line.strip()]
    if len(sample) == SAMPLE_BYTES and len(lines) > 1:
        lines = lines[:-1]  # the sample cut the last line short
    return CsvFormat(encoding, sniff_delimiter(lines[:50]))


def sniff_encoding(sample: bytes) -> str:
    if not sample.strip():
        raise ImportFileError("The file is empty.")
    for signature, what in BINARY_SIGNATURES.items():
        if sample.startswith(signature):
            raise ImportFileError(f"This file is {what}, not a CSV file. {SAVE_AS_CSV}")
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\x00" not in sample:
        try:
            codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
            return "utf-8"
        except UnicodeDecodeError:
            pass
    matches = charset_normalizer.from_bytes(sample)
    best = matches.best()
    if best is None or _looks_binary(str(best)):
        raise ImportFileError(f"This file is not text, so it cannot be a CSV file. {SAVE_AS_CSV}")
    # A few accented names cannot tell the single-byte code pages apart (charset-normalizer
    # happily says cp775, cp1250 or even cp1006 for "Zoë Müller"). Unless it found one of
    # the common non-Latin encodings, valid Windows-1252 bytes are read as Windows-1252:
    # what Excel writes in Western locales. (Central European cp1250 files: save as UTF-8.)
    guess = codecs.lookup(best.encoding).name
    if guess not in NON_LATIN_ENCODINGS and _decodes(sample, "cp1252"):
        return "cp1252"
    return guess


NON_LATIN_ENCODINGS = {
    codecs.lookup(name).name
    for name in ["cp1251", "koi8_r", "koi8_u", "cp866", "mac_cyrillic", "iso8859_5", "cp1253", "iso8859_7",
                 "cp1255", "iso8859_8", "cp1256", "iso8859_6", "cp874", "tis_620", "shift_jis", "cp932",
                 "euc_jp", "gb2312", "gbk", "gb18030", "big5", "euc_kr", "cp949", "utf_16", "utf_16_le",
                 "utf_16_be", "utf_32", "utf_8"]
}


def _decodes(sample: bytes, encoding: str) -> bool:
    try:
        sample.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


def _looks_binary(text: str) -> bool:
    controls = sum(1 for ch in text if ch < " " and ch not in "\t\r\n")
    return "\x00" in text or controls > len(text) / 100


def sniff_delimiter(lines: list[str]) -> str:
    """csv.Sniffer's answer when the header agrees with it, else the header's commonest."""
    header = lines[0] if lines else ""
    try:
        delimiter = csv.Sniffer().sniff("\n".join(lines), delimiters=DELIMITERS).delimiter
    except csv.Error:
        delimiter = None
    counts = {d: header.count(d) for d in DELIMITERS}
    if delimiter and counts[delimiter]:
        return delimiter
    best = max(counts, key=counts.__getitem__)
    return best if counts[best] else ","


def read_records(stream: BinaryIO, fmt: CsvFormat) -> Iterator[Record]:
    """Every record of the file, blank ones included, each with its starting line."""
    text = io.TextIOWrapper(stream, encoding=fmt.encoding, errors="replace", newline="")
    reader = csv.reader(text, delimiter=fmt.delimiter)
    try:
        while True:
            start = reader.line_num + 1
            try:
                values = next(reader)
            except StopIteration:
                return
            except csv.Error as error:
                yield Record(start, None, f"could not be read as CSV ({error})")
                continue
            yield Record(start, values)
    finally:
        with contextlib.suppress(ValueError):
            text.detach()  # the caller owns (and closes) the binary stream


def clean_header(values: list[str]) -> list[str]:
    """Trimmed column names; trailing empty columns dropped, blanks and repeats named."""
    names = [" ".join(v.replace("\ufeff", "").split()) for v in values]
    while names and not names[-1]:
        names.pop()
    header: list[str] = []
    for index, name in enumerate(names):
        name = name or f"Column {index + 1}"
        base, n = name, 2
        while name in header:
            name, n = f"{base} ({n})", n + 1
        header.append(name)
    return header


def split_header(records: Iterator[Record]) -> tuple[list[str], int]:
    """The header (the first non-blank record) and the number of blank lines before it."""
    blank = 0
    for record in records:
        if record.values is None:
            raise ImportFileError(f"The header on line {record.line} {record.error}.")
        if record.is_blank:
            blank += 1
            continue
        return clean_header(record.values), blank
    raise ImportFileError("The file is empty.")


def read_header(stream: BinaryIO, fmt: CsvFormat) -> list[str]:
    """Just the header, for callers that need nothing else from the file."""
    records = read_records(stream, fmt)
    header, _ = split_header(records)
    records.close()
    return header


@dataclass
class Preview:
    fmt: CsvFormat
    header: list[str]
    rows: list[Record]

    @property
    def delimiter_name(self) -> str:
        return DELIMITER_NAMES.get(self.fmt.delimiter, repr(self.fmt.delimiter))


def preview(stream: BinaryIO, fmt: CsvFormat | None = None, limit: int = 10) -> Preview:
    """The header and first rows as the import will see them; refuses a header-only file."""
    fmt = fmt or detect_format(stream)
    records = read_records(stream, fmt)
    header, _ = split_header(records)
    if not header:
        raise ImportFileError("The first line of the file has no column names.")
    rows = []
    for record in records:
        if not record.is_blank:
            rows.append(record)
            if len(rows) == limit:
                break
    records.close()
    stream.seek(0)
    if not rows:
        raise ImportFileError("The file has column names but no rows of contacts below them.")
    return Preview(fmt, header, rows)


def count_rows(open_source: Opener, fmt: CsvFormat) -> int:
    """How many non-blank records follow the header: the total for the progress bar."""
    with open_source() as stream:
        records = read_records(stream, fmt)
        split_header(records)
        return sum(1 for record in records if not record.is_blank)


# --- Column mapping ------------------------------------------------------------------

FIELDS = {
    "phone": "Phone number",
    "first_name": "First name",
    "last_name": "Last name",
    "email": "Email",
    "timezone": "Time zone",
}
# Header names, lower-cased with everything but letters and digits removed.
ALIASES = {
    "phone": {"phone", "phonenumber", "phoneno", "mobile", "mobilephone", "mobilenumber", "mobileno",
              "cell", "cellphone", "cellnumber", "tel", "telephone", "telephonenumber", "telno",
              "msisdn", "contactnumber", "number", "primaryphone", "handy"},
    "first_name": {"firstname", "first", "givenname", "forename", "fname", "vorname", "prenom"},
    "last_name": {"lastname", "last", "surname", "familyname", "lname", "nachname", "nom"},
    "email": {"email", "emailaddress", "mail", "emailid"},
    "timezone": {"tz", "timezone", "tzname", "zone", "olsontimezone", "ianatimezone"},
}
# A weaker second guess when no header matches exactly, e.g. "Mobile phone (work)".
CONTAINS = {"phone": ("phone", "mobile", "cell"), "email": ("email",), "timezone": ("timezone",)}
# Columns of our own rejected-rows download: ignored by default when it is uploaded again.
REJECTED_COLUMNS = ("Rejected on line", "Rejected because")


def _squash(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def guess_mapping(header: list[str]) -> dict:
    """{"phone": column index, …, "ignore": [indices]} from the column names."""
    squashed = [_squash(name) for name in header]
    mapping: dict = {}
    for field, aliases in ALIASES.items():
        for index, name in enumerate(squashed):
            if name in aliases and index not in mapping.values():
                mapping[field] = index
                break
    for field, parts in CONTAINS.items():
        if field not in mapping:
            for index, name in enumerate(squashed):
                if any(part in name for part in parts) and index not in mapping.values():
                    mapping[field] = index
                    break
    mapping["ignore"] = [i for i, name in enumerate(header) if name in REJECTED_COLUMNS]
    return mapping


def safe_parameter_name(header_name: str, taken: set[str]) -> str:
    """A TwiML/template-safe name: ASCII letters, digits and underscores, not starting
    with a digit, unique among `taken` (which it extends)."""
    ascii_name = unicodedata.normalize("NFKD", header_name).encode("ascii", "ignore").decode()
    name = re.sub(r"[^0-9A-Za-z]+", "_", ascii_name).strip("_").lower()[:60] or "column"
    if name[0].isdigit():
        name = "c_" + name
    base, n = name, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    taken.add(name)
    return name


@dataclass(frozen=True)
class Plan:
    """Which column feeds which customer field, and which become parameters (and as what)."""

    header: list[str]
    fields: dict[str, int]
    parameters: list[tuple[int, str]]


def make_plan(header: list[str], mapping: dict) -> Plan:
    fields = {f: int(mapping[f]) for f in FIELDS if mapping.get(f) not in (None, "")}
    if "phone" not in fields:
        raise ImportFileError("Choose the column that holds the phone numbers.")
    if any(index >= len(header) for index in fields.values()):
        raise ImportFileError("The column mapping does not fit this file's columns.")
    ignored = {int(i) for i in mapping.get("ignore", [])}
    taken = set(FIELDS)  # a parameter may not shadow a customer field in the bot's context
    parameters = [
        (index, safe_parameter_name(name, taken))
        for index, name in enumerate(header)
        if index not in fields.values() and index not in ignored
    ]
    return Plan(header, fields, parameters)
