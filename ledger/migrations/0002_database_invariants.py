"""PostgreSQL-side invariants of the journal, plus the chain-head row.

* Postings of each entry sum to zero (credits − debits), checked at COMMIT by a DEFERRABLE INITIALLY
  DEFERRED constraint trigger, so the rows of one entry may be inserted one by one.
* Every entry has at least two postings (same deferred check, fired by the entry insert).
* Entries and postings refuse UPDATE and DELETE: the journal is append-only; corrections are reversals.

SQLite has no deferred triggers; there the service layer and the ORM guards (``AppendOnlyModel``) enforce
the same rules, and the CHECK constraints of the models apply on both backends.
"""

from django.db import migrations

from core.migration_operations import PostgreSQLOnlyRunSQL

FORWARD_SQL = r"""
CREATE OR REPLACE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger: % on % refused: the journal is append-only (post a reversal instead)',
        TG_OP, TG_TABLE_NAME USING ERRCODE = 'restrict_violation';
END
$$;

CREATE TRIGGER ledger_journalentry_append_only
    BEFORE UPDATE OR DELETE ON ledger_journalentry
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();

CREATE TRIGGER ledger_posting_append_only
    BEFORE UPDATE OR DELETE ON ledger_posting
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();

CREATE OR REPLACE FUNCTION ledger_check_entry_balanced(checked_entry_id bigint) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    signed_total numeric;
    posting_count integer;
BEGIN
    SELECT COALESCE(SUM(CASE WHEN direction = 'credit' THEN amount ELSE -amount END), 0), COUNT(*)
      INTO signed_total, posting_count
      FROM ledger_posting WHERE entry_id = checked_entry_id;
    IF posting_count < 2 THEN
        RAISE EXCEPTION 'ledger: entry % has % posting(s); an entry needs at least two',
            checked_entry_id, posting_count USING ERRCODE = 'check_violation';
    END IF;
    IF signed_total <> 0 THEN
        RAISE EXCEPTION 'ledger: entry % does not balance (credits - debits = %)',
            checked_entry_id, signed_total USING ERRCODE = 'check_violation';
    END IF;
END
$$;

CREATE OR REPLACE FUNCTION ledger_posting_balanced_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM ledger_check_entry_balanced(NEW.entry_id);
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION ledger_entry_balanced_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM ledger_check_entry_balanced(NEW.id);
    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER ledger_posting_entry_balanced
    AFTER INSERT ON ledger_posting
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_posting_balanced_trigger();

CREATE CONSTRAINT TRIGGER ledger_entry_has_balanced_postings
    AFTER INSERT ON ledger_journalentry
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_entry_balanced_trigger();
"""

REVERSE_SQL = r"""
DROP TRIGGER IF EXISTS ledger_entry_has_balanced_postings ON ledger_journalentry;
DROP TRIGGER IF EXISTS ledger_posting_entry_balanced ON ledger_posting;
DROP FUNCTION IF EXISTS ledger_entry_balanced_trigger();
DROP FUNCTION IF EXISTS ledger_posting_balanced_trigger();
DROP FUNCTION IF EXISTS ledger_check_entry_balanced(bigint);
DROP TRIGGER IF EXISTS ledger_posting_append_only ON ledger_posting;
DROP TRIGGER IF EXISTS ledger_journalentry_append_only ON ledger_journalentry;
DROP FUNCTION IF EXISTS ledger_refuse_change();
"""


def create_chain_head(apps, schema_editor):
    ChainHead = apps.get_model("ledger", "ChainHead")
    ChainHead.objects.using(schema_editor.connection.alias).get_or_create(
        pk=1, defaults={"height": 0, "head_hash": "0" * 64}
    )


def delete_chain_head(apps, schema_editor):
    ChainHead = apps.get_model("ledger", "ChainHead")
    ChainHead.objects.using(schema_editor.connection.alias).filter(pk=1).delete()


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial")]

    operations = [
        PostgreSQLOnlyRunSQL(FORWARD_SQL, reverse_sql=REVERSE_SQL),
        migrations.RunPython(create_chain_head, delete_chain_head),
    ]
