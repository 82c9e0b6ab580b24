"""`manage.py import_contacts FILE --campaign …`, the same service from the shell."""

import pytest
from django.core.management import CommandError, call_command

from campaigns.models import ContactImport, Customer, Lead

pytestmark = pytest.mark.django_db


@pytest.fixture
def contacts(tmp_path):
    path = tmp_path / "contacts.csv"
    path.write_text("Cell;Name;Plan\n(202) 555-0101;Ann;gold\n555-12;Bob;x\n", encoding="cp1252")
    return path


def test_it_imports_into_a_campaign_and_prints_the_report(contacts, campaign, capsys):
    call_command("import_contacts", str(contacts), "--campaign", str(campaign.pk), "--map", "first_name=Name")
    out = capsys.readouterr().out
    assert "2 rows: imported 1, updated 0, kept 0, duplicate 0, do not call 0, invalid 1." in out
    assert "line 3: '555-12' is not a valid phone number for US" in out
    assert Lead.objects.get().parameters == {"plan": "gold"}
    assert Customer.objects.get().first_name == "Ann"
    assert ContactImport.objects.get().status == ContactImport.Status.DONE


def test_a_dry_run_counts_and_stores_nothing(contacts, campaign, capsys, media):
    call_command("import_contacts", str(contacts), "--campaign", campaign.name, "--dry-run")
    out = capsys.readouterr().out
    assert "imported 1" in out and "invalid 1" in out and "Dry run: nothing was stored." in out
    assert not Customer.objects.exists() and not ContactImport.objects.exists()
    assert not (media.exists() and any(media.rglob("*.*")))


def test_it_refuses_a_binary_file(tmp_path):
    path = tmp_path / "contacts.xlsx"
    path.write_bytes(b"PK\x03\x04" + bytes(range(256)))
    with pytest.raises(CommandError, match="not a CSV file"):
        call_command("import_contacts", str(path))
    assert not ContactImport.objects.exists()
