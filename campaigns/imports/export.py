"""CSV downloads: an import's rejected rows, and a campaign's results.

Both stream row by row (a campaign can have hundreds of thousands of leads) and write
every cell through `SafeWriter`, so nothing in them runs as a spreadsheet formula."""

from collections.abc import Iterator

from django.db.models import OuterRef, Subquery
from django.utils import timezone

from campaigns.imports.csv_safety import SafeWriter
from campaigns.imports.reading import REJECTED_COLUMNS, read_header
from campaigns.imports.service import file_format, open_file
from campaigns.models import Campaign, ContactImport, Lead

RESULT_COLUMNS = ["phone", "first_name", "last_name", "email", "timezone", "state", "attempts",
                  "last_call_status", "outcome", "notes", "callback_at", "last_error",
                  "transferred_to"]  # last: a column added later, so readers by position keep working


def rejected_rows_csv(contact_import: ContactImport) -> Iterator[str]:
    """The file's own columns for each rejected row, then where and why: fix and re-upload.
    (The two extra columns are left out by default when this file is imported again.)"""
    writer = SafeWriter()
    header: list[str] = []
    if contact_import.file:
        with open_file(contact_import) as stream:
            header = read_header(stream, file_format(contact_import))
    yield writer.row([*header, *REJECTED_COLUMNS])
    for line, reason, values in contact_import.rejections.values_list("line", "reason", "values").iterator():
        cells = list(values) + [""] * (len(header) - len(values))
        yield writer.row([*cells, line, reason])


def campaign_results_csv(campaign: Campaign) -> Iterator[str]:
    """One row per lead: who, the parameters passed to the bot, and how it went."""
    leads = Lead.objects.filter(campaign=campaign)
    parameter_names = sorted(
        {name for parameters in leads.values_list("parameters", flat=True).iterator() for name in parameters}
    )
    # Through the campaign's own calls: contact import knows campaigns, not the calls app.
    last_call_status = campaign.calls.filter(lead=OuterRef("pk")).order_by("-created_at").values("status")[:1]
    # Who took the lead's call when it was handed to a person (the latest such call).
    transferred_to = (campaign.calls.filter(lead=OuterRef("pk")).exclude(transferred_to="")
                      .order_by("-created_at").values("transferred_to")[:1])
    rows = (
        leads.select_related("customer")
        .annotate(last_call_status=Subquery(last_call_status), transferred_to=Subquery(transferred_to))
        .order_by("id")
        .iterator(chunk_size=2000)
    )
    writer = SafeWriter()
    yield writer.row([*RESULT_COLUMNS[:5], *parameter_names, *RESULT_COLUMNS[5:]])
    for lead in rows:
        customer = lead.customer
        callback_at = timezone.localtime(lead.callback_at).isoformat() if lead.callback_at else ""
        yield writer.row([
            customer.phone, customer.first_name, customer.last_name, customer.email, customer.timezone,
            *(lead.parameters.get(name, "") for name in parameter_names),
            lead.state, lead.attempts, lead.last_call_status or "", lead.last_outcome, lead.notes,
            callback_at, lead.last_error, lead.transferred_to or "",
        ])
