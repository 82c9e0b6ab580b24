"""Every write that puts a number on the do-not-call list takes a transaction-level advisory
lock on that number (campaigns.models.DO_NOT_CALL_NUMBER_LOCK). The dialer takes the same lock,
shared, in the transaction that checks the list and marks a dial: an entry committed first is
seen, one being written waits until the dial is marked. A trigger, so that every writer
(dashboard, admin, the bot, a raw INSERT) is covered. PostgreSQL only: SQLite lets one
writer in at a time anyway."""

from django.db import migrations

FUNCTION = """
CREATE OR REPLACE FUNCTION campaigns_donotcall_lock_number() RETURNS trigger AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(7002, hashtext(NEW.phone));
    RETURN NEW;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER campaigns_donotcall_lock_number BEFORE INSERT OR UPDATE OF phone ON campaigns_donotcall
    FOR EACH ROW EXECUTE FUNCTION campaigns_donotcall_lock_number();
"""
DROP = """
DROP TRIGGER IF EXISTS campaigns_donotcall_lock_number ON campaigns_donotcall;
DROP FUNCTION IF EXISTS campaigns_donotcall_lock_number();
"""


def create_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FUNCTION)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):

    dependencies = [
        ('campaigns', '0005_voice_stack_lite_natural'),
    ]

    operations = [
        migrations.RunPython(create_trigger, drop_trigger),
    ]
