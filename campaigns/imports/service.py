"""The contact import service: one path for the staff pages and `manage.py import_contacts`.

    contact_import = create_import(uploaded_file, campaign, user)   # sniffed, or ImportFileError
    confirm(contact_import, mapping, default_country=…, existing=…, duplicates=…)
    run_import(contact_import.pk)                                    # what the Celery task calls

Every data row lands in exactly one bucket — imported, updated, kept, duplicate,
do_not_call or invalid — and the bucket counters, the rejected rows and the numbers seen
so far are committed in the same transaction as the batch of contacts they describe.
So `rows_done` is always the exact place to resume from when a worker dies mid-file, and
an import only says "done" once its last batch is committed."""

import logging
from collections import Counter
from datetime import timedelta
from typing import BinaryIO

from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from campaigns.imports import writing
from campaigns.imports.reading import (
    CsvFormat,
    ImportFileError,
    Opener,
    count_rows,
    guess_mapping,
    make_plan,
    preview,
    read_header,
    read_records,
    split_header,
)
from campaigns.imports.rows import MAX_FIELD_CHARS, Contact, RowParser
from campaigns.models import Campaign, ContactImport, ImportRejection
from campaigns.webhooks import events as webhook_events

__all__ = ["ImportFileError", "confirm", "create_import", "requeue", "run_import", "stalled"]

logger = logging.getLogger(__name__)

# 2,000 rows a batch: about ten statements per batch (lookups, COPY, customers, leads,
# bookkeeping), so round trips are noise next to parsing and inserting, while one
# transaction stays well under a second, the progress bar moves often and a killed
# worker redoes little.
BATCH_SIZE = 2000
STALLED_AFTER = timedelta(minutes=2)


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
    if contact_import.status not in claimable or not writing.lock(contact_import.pk):
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
        _finish(contact_import.pk, status=ContactImport.Status.FAILED, error=message,
                finished_at=timezone.now())
    finally:
        writing.unlock(contact_import.pk)
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
    _finish(contact_import.pk, status=ContactImport.Status.DONE, finished_at=timezone.now(),
            heartbeat_at=timezone.now())


def _finish(contact_import_id: int, **fields) -> None:
    with transaction.atomic():
        ContactImport.objects.filter(pk=contact_import_id).update(**fields)
        webhook_events.import_finished(contact_import_id)


def _commit_batch(contact_import: ContactImport, parse: RowParser, records: list, blank: int) -> None:
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
    earlier, on_dnc, existing = writing.lookups(contact_import, phones)
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
        writing.write_contacts(contact_import.campaign_id, parse.plan, writes, kept)
        writing.write_seen(contact_import, seen)
        ImportRejection.objects.bulk_create(rejections)
        ContactImport.objects.filter(pk=contact_import.pk).update(
            rows_done=F("rows_done") + len(records),
            blank_lines=F("blank_lines") + blank,
            heartbeat_at=timezone.now(),
            **{bucket: F(bucket) + counts[bucket] for bucket in ContactImport.BUCKETS},
        )
