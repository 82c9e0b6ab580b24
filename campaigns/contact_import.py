"""The contact import service: one path for the staff pages and `manage.py import_contacts`.

    contact_import = create_import(uploaded_file, campaign, user)   # sniffed, or ImportFileError
    confirm(contact_import, mapping, default_country=…, existing=…, duplicates=…)
    run_import(contact_import.pk)                                    # what the Celery task calls

Every data row lands in exactly one bucket — imported, updated, kept, duplicate,
do_not_call or invalid — and the bucket counters, the rejected rows and the numbers seen
so far are committed in the same transaction as the batch of contacts they describe.
So `rows_done` is always the exact place to resume from when a worker dies mid-file, and
an import only says "done" once its last batch is committed."""

import json
import logging
import zoneinfo
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from typing import BinaryIO

from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.core.validators import validate_email
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from campaigns.csv_safety import unneutralise
from campaigns.import_reading import (
    CsvFormat,
    ImportFileError,
    Opener,
    Plan,
    count_rows,
    guess_mapping,
    make_plan,
    preview,
    read_header,
    read_records,
    split_header,
)
from campaigns.models import (
    Campaign,
    ContactImport,
    Customer,
    DoNotCall,
    ImportedPhone,
    ImportRejection,
    Lead,
)
from campaigns.phones import format_e164, parse_valid, timezone_of

__all__ = ["ImportFileError", "confirm", "create_import", "requeue", "run_import", "stalled"]

logger = logging.getLogger(__name__)

# 2,000 rows a batch: about ten statements per batch (lookups, COPY, customers, leads,
# bookkeeping), so round trips are noise next to parsing and inserting, while one
# transaction stays well under a second, the progress bar moves often and a killed
# worker redoes little.
BATCH_SIZE = 2000
MAX_FIELD_CHARS = 128 * 1024
MAX_PARAMETER_CHARS = 500
NAME_CHARS = 100  # Customer.first_name / last_name
STALLED_AFTER = timedelta(minutes=2)
TIMEZONES = {name.lower(): name for name in zoneinfo.available_timezones()}
ADVISORY_LOCK_NAMESPACE = 7001  # pg_try_advisory_lock(namespace, import id)


@dataclass(slots=True)
class Contact:
    phone: str
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    timezone: str = ""
    parameters: dict[str, str] = field(default_factory=dict)


# --- Upload and confirmation ---------------------------------------------------------


def create_import(upload: UploadedFile | BinaryIO, campaign: Campaign | None, user=None,
                  *, name: str = "") -> ContactImport:
    """Sniff and preview the file, then store it. Raises ImportFileError (and stores
    nothing) for a binary, empty or header-only file."""
    file_preview = preview(upload)
    contact_import = ContactImport(
        original_name=(name or getattr(upload, "name", "") or "contacts.csv")[:255],
        campaign=campaign,
        created_by=user if getattr(user, "pk", None) else None,
        encoding=file_preview.fmt.encoding,
        delimiter=file_preview.fmt.delimiter,
        mapping=guess_mapping(file_preview.header),
    )
    contact_import.file.save(contact_import.original_name.rsplit("/", 1)[-1], upload, save=False)
    contact_import.save()
    return contact_import


def open_file(contact_import: ContactImport) -> BinaryIO:
    return default_storage.open(contact_import.file.name, "rb")


def file_preview(contact_import: ContactImport, limit: int = 10):
    with open_file(contact_import) as stream:
        return preview(stream, file_format(contact_import), limit)


def confirm(contact_import: ContactImport, mapping: dict, *, default_country: str, existing: str,
            duplicates: str, open_source: Opener | None = None) -> bool:
    """Fix mapping and options and queue the import. False when it was already queued
    (a double click); the caller enqueues the task only on True."""
    with (open_source or (lambda: open_file(contact_import)))() as stream:
        header = read_header(stream, file_format(contact_import))
    make_plan(header, mapping)  # raises ImportFileError when the phone column is missing
    changed = ContactImport.objects.filter(
        pk=contact_import.pk, status=ContactImport.Status.PENDING
    ).update(
        mapping=mapping,
        default_country=default_country,
        existing=existing,
        duplicates=duplicates,
        status=ContactImport.Status.QUEUED,
    )
    contact_import.refresh_from_db()
    return changed == 1


def stalled(contact_import: ContactImport) -> bool:
    """Running, but no batch committed for a while: its worker is gone."""
    last_sign = contact_import.heartbeat_at or contact_import.started_at
    return (
        contact_import.status == ContactImport.Status.RUNNING
        and last_sign is not None
        and timezone.now() - last_sign > STALLED_AFTER
    )


def requeue(contact_import: ContactImport) -> bool:
    """Queue a failed or stalled import again; it resumes after its last committed batch."""
    if contact_import.status != ContactImport.Status.FAILED and not stalled(contact_import):
        return False
    changed = ContactImport.objects.filter(
        pk=contact_import.pk, status=contact_import.status
    ).update(status=ContactImport.Status.QUEUED, error="", finished_at=None)
    contact_import.refresh_from_db()
    return changed == 1


def file_format(contact_import: ContactImport) -> CsvFormat:
    return CsvFormat(contact_import.encoding, contact_import.delimiter)


# --- Running ------------------------------------------------------------------------


def run_import(contact_import_id: int, *, open_source: Opener | None = None,
               batch_size: int = BATCH_SIZE) -> ContactImport | None:
    """Import (or resume) a queued import. Returns it, or None when it does not exist.

    Safe to call twice: a second worker for the same import backs off, and an import
    already done or failed is left alone."""
    try:
        contact_import = ContactImport.objects.get(pk=contact_import_id)
    except ContactImport.DoesNotExist:
        return None
    claimable = [ContactImport.Status.QUEUED, ContactImport.Status.RUNNING]
    if contact_import.status not in claimable or not _lock(contact_import.pk):
        return contact_import
    try:
        ContactImport.objects.filter(pk=contact_import.pk, started_at__isnull=True).update(
            started_at=timezone.now()
        )
        ContactImport.objects.filter(pk=contact_import.pk).update(
            status=ContactImport.Status.RUNNING, heartbeat_at=timezone.now()
        )
        contact_import.refresh_from_db()
        _run(contact_import, open_source or (lambda: open_file(contact_import)), batch_size)
    except Exception as error:
        logger.exception("Contact import %s failed", contact_import.pk)
        message = str(error) if isinstance(error, ImportFileError) else f"{type(error).__name__}: {error}"
        ContactImport.objects.filter(pk=contact_import.pk).update(
            status=ContactImport.Status.FAILED, error=message, finished_at=timezone.now()
        )
    finally:
        _unlock(contact_import.pk)
    contact_import.refresh_from_db()
    return contact_import


def _run(contact_import: ContactImport, open_source: Opener, batch_size: int) -> None:
    fmt = file_format(contact_import)
    if contact_import.total_rows is None:
        total = count_rows(open_source, fmt)
        ContactImport.objects.filter(pk=contact_import.pk).update(total_rows=total)
    with open_source() as stream:
        records = read_records(stream, fmt)
        header, blank_before_header = split_header(records)
        plan = make_plan(header, contact_import.mapping)
        # Rows already committed by an earlier (killed) run are read past, not imported again.
        to_skip = contact_import.rows_done
        blank = 0 if to_skip else blank_before_header
        parse = RowParser(plan, contact_import.default_country)
        batch: list = []
        for record in records:
            if record.is_blank:
                blank += 1
            elif to_skip:
                to_skip -= 1
                blank = 0  # blank lines before a committed row were counted with it
            else:
                batch.append(record)
                if len(batch) == batch_size:
                    _commit_batch(contact_import, parse, batch, blank)
                    batch, blank = [], 0
        if batch or blank:
            _commit_batch(contact_import, parse, batch, blank)
    ContactImport.objects.filter(pk=contact_import.pk).update(
        status=ContactImport.Status.DONE, finished_at=timezone.now(), heartbeat_at=timezone.now()
    )


def _commit_batch(contact_import: ContactImport, parse: "RowParser", records: list, blank: int) -> None:
    counts: Counter = Counter()
    rejections = []
    first_seen: dict[str, tuple[int, Contact]] = {}  # phone → (line, contact to write)
    last_wins = contact_import.duplicates == ContactImport.Duplicates.LAST
    for record in records:
        result = parse(record)
        if isinstance(result, str):
            counts["invalid"] += 1
            rejections.append(ImportRejection(
                contact_import=contact_import, line=record.line, reason=result[:500],
                values=[v if len(v) <= MAX_FIELD_CHARS else "" for v in record.values or []],
            ))
        elif result.phone in first_seen:
            counts["duplicate"] += 1
            if last_wins:
                first_seen[result.phone] = (first_seen[result.phone][0], result)
        else:
            first_seen[result.phone] = (record.line, result)

    phones = sorted(first_seen)  # one lock order for every writer: no deadlocks between imports
    earlier, on_dnc, existing = _lookups(contact_import, phones)
    keep = contact_import.existing == ContactImport.Existing.KEEP
    writes: dict[str, Contact] = {}
    kept: dict[str, Contact] = {}
    seen: list[tuple[str, str, int]] = []  # (phone, outcome, line)
    for phone in phones:
        line, contact = first_seen[phone]
        if phone in earlier:  # first met in an earlier batch of this file
            counts["duplicate"] += 1
            if last_wins and earlier[phone] in ("imported", "updated"):
                writes[phone] = contact
            continue
        if phone in on_dnc:
            outcome = "do_not_call"
        elif phone in existing:
            outcome = "kept" if keep else "updated"
        else:
            outcome = "imported"
        counts[outcome] += 1
        seen.append((phone, outcome, line))
        if outcome == "kept":
            kept[phone] = contact
        elif outcome != "do_not_call":
            writes[phone] = contact

    with transaction.atomic():
        _write_contacts(contact_import, parse.plan, writes, kept)
        _write_seen(contact_import, seen)
        ImportRejection.objects.bulk_create(rejections)
        ContactImport.objects.filter(pk=contact_import.pk).update(
            rows_done=F("rows_done") + len(records),
            blank_lines=F("blank_lines") + blank,
            heartbeat_at=timezone.now(),
            **{bucket: F(bucket) + counts[bucket] for bucket in ContactImport.BUCKETS},
        )


# --- Reading and writing the database ------------------------------------------------
# Two ways with the same result. On PostgreSQL (psycopg 3) rows travel by COPY and are
# upserted set-based, one statement per table per batch: the ORM's bulk_create spent
# more time building model instances and SQL for 2,000 rows than the database spent
# storing them. Elsewhere (SQLite for a quick start) the ORM does it.


def _use_copy() -> bool:
    if connection.vendor != "postgresql":
        return False
    from django.db.backends.postgresql.psycopg_any import is_psycopg3

    return is_psycopg3


LOOKUP_SQL = """
    SELECT p.phone,
           (SELECT outcome FROM campaigns_importedphone WHERE contact_import_id = %s AND phone = p.phone),
           (SELECT true FROM campaigns_donotcall WHERE phone = p.phone),
           (SELECT true FROM campaigns_customer WHERE phone = p.phone)
    FROM unnest(%s::text[]) AS p(phone)"""


def _lookups(contact_import: ContactImport, phones: list[str]) -> tuple[dict, set, set]:
    """Of these numbers: the outcome of those met in an earlier batch, those on the
    do-not-call list, those already customers."""
    if not _use_copy():
        return (dict(ImportedPhone.objects.filter(contact_import=contact_import, phone__in=phones)
                     .values_list("phone", "outcome")),
                set(DoNotCall.objects.filter(phone__in=phones).values_list("phone", flat=True)),
                set(Customer.objects.filter(phone__in=phones).values_list("phone", flat=True)))
    # One round trip with one array parameter (`phone__in` sends 2,000 placeholders for
    # psycopg to splice into the SQL). Scalar subqueries, not joins or `= ANY`: those let
    # the planner, misled by stale statistics while a big import fills the tables, scan
    # every customer once per batch, which made a 500,000-row import quadratic. A scalar
    # subquery is always a probe of the phone index per number.
    with connection.cursor() as cursor:
        cursor.execute(LOOKUP_SQL, [contact_import.pk, phones])
        rows = cursor.fetchall()
    return ({phone: outcome for phone, outcome, _, _ in rows if outcome is not None},
            {phone for phone, _, dnc, _ in rows if dnc}, {phone for phone, _, _, known in rows if known})


def _write_contacts(contact_import: ContactImport, plan: Plan, writes: dict[str, Contact],
                    kept: dict[str, Contact]) -> None:
    """Upsert customers, then their leads: whether a number is new or already known, one
    INSERT … ON CONFLICT per table per batch. Kept customers are left as they are but
    still join the campaign."""
    update_fields = [f for f in ("first_name", "last_name", "email", "timezone") if f in plan.fields]
    if plan.parameters:
        update_fields.append("attributes")
    if _use_copy():
        _copy_contacts(contact_import.campaign_id, update_fields, writes, kept)
        return
    Customer.objects.bulk_create(
        [
            Customer(phone=phone, first_name=c.first_name, last_name=c.last_name, email=c.email,
                     timezone=c.timezone, attributes=c.parameters)
            for phone, c in writes.items()
        ],
        update_conflicts=True,
        unique_fields=["phone"],
        update_fields=[*update_fields, "updated_at"],
    )
    if contact_import.campaign_id is None:
        return
    ids = dict(Customer.objects.filter(phone__in=[*writes, *kept]).values_list("phone", "id"))
    campaign_id = contact_import.campaign_id
    Lead.objects.bulk_create(
        [Lead(campaign_id=campaign_id, customer_id=ids[p], parameters=c.parameters)
         for p, c in writes.items()],
        update_conflicts=True,
        unique_fields=["campaign", "customer"],
        update_fields=["parameters", "timezone", "updated_at"],  # the zone blank: resolved again
    )
    Lead.objects.bulk_create(
        [Lead(campaign_id=campaign_id, customer_id=ids[p], parameters=c.parameters)
         for p, c in kept.items()],
        ignore_conflicts=True,
    )


def _copy_contacts(campaign_id: int | None, update_fields: list[str], writes: dict[str, Contact],
                   kept: dict[str, Contact]) -> None:
    if not writes and not kept:
        return
    with connection.cursor() as cursor:
        # Lives as long as the connection and is emptied per batch. (Not ON COMMIT DELETE
        # ROWS: a dry run holds every batch in one transaction.)
        cursor.execute("CREATE TEMP TABLE IF NOT EXISTS contact_import_stage (phone text, first_name text, "
                       "last_name text, email text, timezone text, attributes jsonb, keep boolean)")
        cursor.execute("TRUNCATE contact_import_stage")
        with cursor.copy("COPY contact_import_stage FROM STDIN") as copy:
            for keep, contacts in ((False, writes), (True, kept)):
                for phone, c in contacts.items():
                    copy.write_row((phone, c.first_name, c.last_name, c.email, c.timezone,
                                    json.dumps(c.parameters), keep))
        stage_columns = ["phone", "first_name", "last_name", "email", "timezone", "attributes"]
        updates = ", ".join(f"{f} = EXCLUDED.{f}" for f in [*update_fields, "updated_at"])
        _insert_select(cursor, Customer(), {column: column for column in stage_columns},
                       "FROM contact_import_stage WHERE NOT keep ORDER BY phone "
                       f"ON CONFLICT (phone) DO UPDATE SET {updates}")
        if campaign_id is None:
            return
        # An updated lead's zone is blanked: the dispatcher resolves it again from the
        # contact, whose zone this file may have just corrected.
        for keep, on_conflict in ((False, "DO UPDATE SET parameters = EXCLUDED.parameters, "
                                          "timezone = '', updated_at = EXCLUDED.updated_at"),
                                  (True, "DO NOTHING")):
            # The customer's id by a scalar subquery, as in LOOKUP_SQL: an index probe per
            # row, never a scan of every customer per batch.
            _insert_select(cursor, Lead(campaign_id=campaign_id),
                           {"customer": "(SELECT id FROM campaigns_customer WHERE phone = stage.phone)",
                            "parameters": "stage.attributes"},
                           "FROM contact_import_stage stage WHERE stage.keep = %s ORDER BY stage.phone "
                           f"ON CONFLICT (campaign_id, customer_id) {on_conflict}",
                           [keep])


def _insert_select(cursor, template, select: dict[str, str], rest: str, params=()) -> None:
    """INSERT INTO the template's table … SELECT: the fields in `select` from SQL over the
    staging table, every other field from `template` as the ORM would save it (defaults,
    auto_now), so this keeps up when the model gains a field."""
    meta = template._meta
    constants = [f for f in meta.concrete_fields if not f.primary_key and f.name not in select]
    columns = [meta.get_field(name).column for name in select] + [f.column for f in constants]
    values = [f.get_db_prep_save(f.pre_save(template, add=True), connection) for f in constants]
    # Identifiers come from the model and this module; data travels as parameters.
    sql = (f"INSERT INTO {meta.db_table} ({', '.join(columns)}) "
           f"SELECT {', '.join(select.values())}{', %s' * len(constants)} {rest}")
    cursor.execute(sql, [*values, *params])


def _write_seen(contact_import: ContactImport, seen: list[tuple[str, str, int]]) -> None:
    """Remember each number's outcome, so a later copy in the file is known as a duplicate."""
    if not _use_copy():
        ImportedPhone.objects.bulk_create(
            ImportedPhone(contact_import=contact_import, phone=phone, outcome=outcome, line=line)
            for phone, outcome, line in seen
        )
        return
    table = ImportedPhone._meta.db_table
    with connection.cursor() as cursor, \
            cursor.copy(f"COPY {table} (contact_import_id, phone, outcome, line) FROM STDIN") as copy:
        for row in seen:
            copy.write_row((contact_import.pk, *row))


# --- One row -------------------------------------------------------------------------


class RowParser:
    """Turns a record into a Contact, or the reason (for a person) why it cannot be
    imported. Built once per import: the plan's column positions are looked up once,
    not per row, which matters at ~100,000 rows."""

    def __init__(self, plan: Plan, default_country: str):
        self.plan = plan
        self.width = len(plan.header)
        # A field the file lacks reads the empty cell appended past the last column.
        self.phone, self.first_name, self.last_name, self.email, self.zone = (
            plan.fields.get(f, self.width) for f in ("phone", "first_name", "last_name", "email", "timezone")
        )
        self.country = default_country

    def __call__(self, record) -> Contact | str:
        if record.values is None:
            return record.error
        values = record.values
        width = self.width
        if len(values) > width and any(v.strip() for v in values[width:]):
            return f"has {len(values)} values but the header has {width} columns"
        if max(map(len, values), default=0) > MAX_FIELD_CHARS:
            index = next(i for i, v in enumerate(values) if len(v) > MAX_FIELD_CHARS)
            column = self.plan.header[index] if index < width else f"column {index + 1}"
            return f"the value in '{column}' is longer than 128 KB"
        values = [unneutralise(v.strip()) for v in values[:width]]
        values += [""] * (width + 1 - len(values))  # a short row; and the cell for unmapped fields

        raw_phone = values[self.phone]
        if not raw_phone:
            return "the phone number is missing"
        try:
            number = parse_valid(raw_phone, self.country)
        except ValidationError as error:
            return error.messages[0]
        email = values[self.email]
        if email and not _valid_email(email):
            return f"'{email[:80]}' is not a valid email address"
        zone = values[self.zone]
        if zone:
            if zone.lower() not in TIMEZONES:
                return f"'{zone[:80]}' is not a time zone name (use one like America/New_York)"
            zone = TIMEZONES[zone.lower()]
        else:
            zone = timezone_of(number) or ""
        return Contact(
            phone=format_e164(number),
            first_name=values[self.first_name][:NAME_CHARS],
            last_name=values[self.last_name][:NAME_CHARS],
            email=email,
            timezone=zone,
            parameters={name: values[i][:MAX_PARAMETER_CHARS]
                        for i, name in self.plan.parameters if values[i]},
        )


def _valid_email(email: str) -> bool:
    try:
        validate_email(email)
    except ValidationError:
        return False
    return True


# One worker per import: a redelivered task (acks_late) must not run beside a live one.
def _lock(contact_import_id: int) -> bool:
    if connection.vendor != "postgresql":
        return True
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [ADVISORY_LOCK_NAMESPACE, contact_import_id])
        return cursor.fetchone()[0]


def _unlock(contact_import_id: int) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [ADVISORY_LOCK_NAMESPACE, contact_import_id])
