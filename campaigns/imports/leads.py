"""Leads sent as JSON (the API's bulk add), checked and written exactly as a file's rows
are: the same RowParser, the same write path, one transaction for the request."""

from dataclasses import dataclass, field

from django.db import transaction

from campaigns.imports import writing
from campaigns.imports.reading import Record, make_plan
from campaigns.imports.rows import Contact, RowParser
from campaigns.models import Campaign, ContactImport, Customer, DoNotCall, Lead

CONTACT_FIELDS = ["phone", "first_name", "last_name", "email", "timezone"]


@dataclass
class LeadsReport:
    added: int = 0
    updated: int = 0
    kept: int = 0  # already in the campaign, left as they were (existing="keep")
    rejected: list[dict] = field(default_factory=list)  # {"index", "phone", "reason"}


def add_leads(campaign: Campaign, leads: list[dict], *, existing: str = ContactImport.Existing.UPDATE,
              default_country: str = "US") -> LeadsReport:
    """Add (or update) these contacts as the campaign's leads: dicts with CONTACT_FIELDS
    and each its own `variables`. The report says what was added, updated and rejected, and why."""
    names = list(dict.fromkeys(name for lead in leads for name in lead.get("variables", {})))
    plan = make_plan([*CONTACT_FIELDS, *names], {name: i for i, name in enumerate(CONTACT_FIELDS)})
    parse, report = RowParser(plan, default_country), LeadsReport()
    first_seen: dict[str, int] = {}
    contacts: dict[str, Contact] = {}
    for index, lead in enumerate(leads):
        variables = lead.get("variables", {})
        values = [str(lead.get(f) or "") for f in CONTACT_FIELDS] + [str(variables.get(n, "")) for n in names]
        result = parse(Record(index, values))
        if isinstance(result, str):
            report.rejected.append({"index": index, "phone": lead.get("phone", ""), "reason": result})
        elif result.phone in first_seen:
            report.rejected.append({"index": index, "phone": result.phone,
                                    "reason": f"the same number as lead {first_seen[result.phone]}"})
        else:
            first_seen[result.phone], contacts[result.phone] = index, result
    writes, kept = _sort(campaign, contacts, first_seen, existing, report)
    report.rejected.sort(key=lambda rejection: rejection["index"])
    with transaction.atomic():
        writing.write_contacts(campaign.pk, plan, writes, kept)
    return report


def _sort(campaign, contacts, first_seen, existing, report) -> tuple[dict, dict]:
    """Which contacts to write, which to keep as they are; counted in the report."""
    phones = sorted(contacts)  # one lock order for every writer, as the import's batches
    on_dnc = DoNotCall.objects.listed_among(phones)
    known = set(Customer.objects.filter(phone__in=phones).values_list("phone", flat=True))
    in_campaign = set(Lead.objects.filter(campaign=campaign, customer__phone__in=phones)
                      .values_list("customer__phone", flat=True))
    keep = existing == ContactImport.Existing.KEEP
    writes, kept = {}, {}
    for phone in phones:
        if phone in on_dnc:
            report.rejected.append({"index": first_seen[phone], "phone": phone,
                                    "reason": "the number is on the do-not-call list"})
            continue
        (kept if keep and phone in known else writes)[phone] = contacts[phone]
        if phone not in in_campaign:
            report.added += 1
        elif phone in kept:
            report.kept += 1
        else:
            report.updated += 1
    return writes, kept
