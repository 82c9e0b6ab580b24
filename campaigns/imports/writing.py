"""The contact import's database half: what a batch's numbers already are; writing its
contacts, their leads and the numbers seen; and the lock that keeps one worker per import.

Two ways with the same result. On PostgreSQL (psycopg 3) rows travel by COPY and are
upserted set-based, one statement per table per batch: the ORM's bulk_create spent more
time building model instances and SQL for 2,000 rows than the database spent storing
them. Elsewhere (SQLite for a quick start) the ORM does it."""

import json

from django.db import connection, transaction
from django.dispatch import Signal

from campaigns.imports.reading import Plan
from campaigns.imports.rows import Contact
from campaigns.models import ContactImport, Customer, DoNotCall, ImportedPhone, Lead

ADVISORY_LOCK_NAMESPACE = 7001  # pg_try_advisory_lock(namespace, import id)

# Sent with campaign_id once a batch of a campaign's leads (an import's, the API's) is
# committed: whoever shows campaigns (the dashboard's live pages) hears that its leads changed.
leads_written = Signal()


def use_copy() -> bool:
    if connection.vendor != "postgresql":
        return False
    from django.db.backends.postgresql.psycopg_any import is_psycopg3

    return is_psycopg3


LOOKUP_SQL = """
    SELECT p.phone,
           (SELECT outcome FROM campaigns_importedphone WHERE contact_import_id = %s AND phone = p.phone),
           (SELECT true FROM campaigns_donotcall WHERE phone = p.phone),  -- DoNotCall.objects.listed_among
           (SELECT true FROM campaigns_customer WHERE phone = p.phone)
    FROM unnest(%s::text[]) AS p(phone)"""


def lookups(contact_import: ContactImport, phones: list[str]) -> tuple[dict, set, set]:
    """Of these numbers: the outcome of those met in an earlier batch, those on the
    do-not-call list, those already customers."""
    if not use_copy():
        return (dict(ImportedPhone.objects.filter(contact_import=contact_import, phone__in=phones)
                     .values_list("phone", "outcome")),
                DoNotCall.objects.listed_among(phones),
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


def write_contacts(campaign_id: int | None, plan: Plan, writes: dict[str, Contact],
                    kept: dict[str, Contact]) -> None:
    """Upsert customers, then their leads: whether a number is new or already known, one
    INSERT … ON CONFLICT per table per batch. Kept customers are left as they are but
    still join the campaign."""
    if campaign_id is not None:
        transaction.on_commit(lambda: leads_written.send(sender=Lead, campaign_id=campaign_id), robust=True)
    update_fields = [f for f in ("first_name", "last_name", "email", "timezone") if f in plan.fields]
    if plan.parameters:
        update_fields.append("attributes")
    if use_copy():
        _copy_contacts(campaign_id, update_fields, writes, kept)
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
    if campaign_id is None:
        return
    ids = dict(Customer.objects.filter(phone__in=[*writes, *kept]).values_list("phone", "id"))
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


def write_seen(contact_import: ContactImport, seen: list[tuple[str, str, int]]) -> None:
    """Remember each number's outcome, so a later copy in the file is known as a duplicate."""
    if not use_copy():
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


# One worker per import: a redelivered task (acks_late) must not run beside a live one.
def lock(contact_import_id: int) -> bool:
    if connection.vendor != "postgresql":
        return True
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [ADVISORY_LOCK_NAMESPACE, contact_import_id])
        return cursor.fetchone()[0]


def unlock(contact_import_id: int) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [ADVISORY_LOCK_NAMESPACE, contact_import_id])
