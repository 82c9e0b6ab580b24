"""Import a contact list from a CSV file, as the staff upload page does.

For operators with a file on the server (too big for a browser upload, or scripted):
it uses the same service, so encodings, mapping guesses, do-not-call, duplicates and the
report are identical. With --dry-run everything is checked and counted, nothing is kept.
"""

import contextlib
from pathlib import Path

from django.core.files import File
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from campaigns.imports import service as imports
from campaigns.imports.reading import FIELDS, ImportFileError, guess_mapping, preview
from campaigns.models import Campaign, ContactImport


class DryRunRollback(Exception):
    pass


class Command(BaseCommand):
    help = "Import contacts from a CSV file into a campaign (or as a standalone list)."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--campaign", help="Campaign id or exact name; omit for a standalone list.")
        parser.add_argument("--country", default="US", help="Default country for numbers without +.")
        parser.add_argument("--existing", choices=ContactImport.Existing.values, default="update")
        parser.add_argument("--duplicates", choices=ContactImport.Duplicates.values, default="first")
        parser.add_argument(
            "--map", action="append", default=[], metavar="FIELD=COLUMN",
            help=f"Override the guessed mapping, e.g. --map 'phone=Cell Phone'. Fields: {', '.join(FIELDS)}.",
        )
        parser.add_argument("--dry-run", action="store_true", help="Check and count; store nothing.")

    def handle(self, *args, **options):
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"{path} is not a file.")
        campaign = self._campaign(options["campaign"])
        try:
            # A real run commits batch by batch (progress, resumable); a dry run is one
            # transaction that is rolled back at the end.
            with transaction.atomic() if options["dry_run"] else contextlib.nullcontext():
                contact_import = self._import(path, campaign, options)
                self._report(contact_import)
                if options["dry_run"]:
                    raise DryRunRollback
        except DryRunRollback:
            self.stdout.write("Dry run: nothing was stored.")
        except ImportFileError as error:
            raise CommandError(str(error)) from None
        if contact_import.status != ContactImport.Status.DONE:
            raise CommandError(f"The import failed: {contact_import.error}")

    def _import(self, path: Path, campaign, options) -> ContactImport:
        with path.open("rb") as stream:
            file_preview = preview(stream)
            if options["dry_run"]:
                contact_import = ContactImport.objects.create(
                    original_name=path.name, campaign=campaign, encoding=file_preview.fmt.encoding,
                    delimiter=file_preview.fmt.delimiter,
                )
                contact_import.mapping = guess_mapping(file_preview.header)
            else:
                contact_import = imports.create_import(File(stream, name=path.name), campaign)
        mapping = self._mapping(contact_import.mapping, file_preview.header, options["map"])
        imports.confirm(
            contact_import, mapping, default_country=options["country"].upper(),
            existing=options["existing"], duplicates=options["duplicates"],
            open_source=lambda: path.open("rb"),
        )
        self.stdout.write(f"Importing {path.name} ({file_preview.fmt.encoding}, "
                          f"{file_preview.delimiter_name}-separated)…")
        return imports.run_import(contact_import.pk, open_source=lambda: path.open("rb"))

    def _campaign(self, ref: str | None) -> Campaign | None:
        if not ref:
            return None
        found = Campaign.objects.filter(pk=int(ref)) if ref.isdigit() else Campaign.objects.filter(name=ref)
        if len(found) != 1:
            raise CommandError(f"No single campaign matches {ref!r}.")
        return found[0]

    def _mapping(self, guessed: dict, header: list[str], overrides: list[str]) -> dict:
        mapping = dict(guessed)
        for item in overrides:
            field, _, column = item.partition("=")
            if field not in FIELDS or column not in header:
                raise CommandError(f"--map {item!r}: use FIELD=COLUMN with a field from "
                                   f"{', '.join(FIELDS)} and a column from {header}.")
            mapping[field] = header.index(column)
        for field, index in mapping.items():
            if field in FIELDS:
                self.stdout.write(f"  {FIELDS[field]:<13} ← {header[index]}")
        return mapping

    def _report(self, contact_import: ContactImport) -> None:
        buckets = ContactImport.BUCKETS
        counts = ", ".join(f"{b.replace('_', ' ')} {getattr(contact_import, b)}" for b in buckets)
        self.stdout.write(f"{contact_import.rows_done} rows: {counts}.")
        for rejection in contact_import.rejections.all()[:50]:
            self.stdout.write(f"  line {rejection.line}: {rejection.reason}")
        if contact_import.invalid > 50:
            self.stdout.write(f"  … and {contact_import.invalid - 50} more.")
