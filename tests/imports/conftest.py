"""Helpers for the contact import tests: files are made inside each test."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from campaigns.imports import service as imports
from tests import factory


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def campaign(db):
    return factory.campaign(name="Spring renewals", caller_id="")


def csv_file(text: str | bytes, name: str = "contacts.csv", encoding: str = "utf-8") -> SimpleUploadedFile:
    data = text if isinstance(text, bytes) else text.encode(encoding)
    return SimpleUploadedFile(name, data, content_type="text/csv")


def import_now(text: str | bytes, campaign=None, *, encoding="utf-8", mapping=None, batch_size=2000,
               country="US", existing="update", duplicates="first"):
    """Upload, confirm the guessed (or given) mapping and run the import in-process."""
    upload = imports.create_import(csv_file(text, encoding=encoding), campaign)
    imports.confirm(upload, mapping or upload.mapping, default_country=country,
                    existing=existing, duplicates=duplicates)
    return imports.run_import(upload.pk, batch_size=batch_size)


def buckets(contact_import) -> dict:
    return {b: getattr(contact_import, b) for b in contact_import.BUCKETS if getattr(contact_import, b)}


def reasons(contact_import) -> list[str]:
    return [f"line {r.line}: {r.reason}" for r in contact_import.rejections.all()]
