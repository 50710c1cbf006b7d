"""PostgreSQL: the zero-sum triggers check the entry's postings themselves instead of calling a function.

Every entry fires three deferred checks at COMMIT (one for the entry, one per posting). Each trigger used to
``PERFORM ledger_check_entry_balanced(...)``: a nested query and a second PL/pgSQL call per check, about a tenth
of the backend's CPU per posted entry. Now each trigger runs the aggregate itself and calls the function (which
words the error) only when the entry does not balance. The invariant is unchanged.
"""

from django.db import migrations

from core.migration_operations import PostgreSQLOnlyRunSQL


def _trigger_function(name: str, entry_id: str) -> str:
    return f"""
CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    signed_total numeric;
    posting_count integer;
BEGIN
    SELECT COALESCE(SUM(CASE WHEN direction = 'credit' THEN amount ELSE -amount END), 0), COUNT(*)
      INTO signed_total, posting_count
      FROM ledger_posting WHERE entry_id = {entry_id};
    IF posting_count < 2 OR signed_total <> 0 THEN
        PERFORM ledger_check_entry_balanced({entry_id});  -- raises, with the reason
    END IF;
    RETURN NULL;
END
$$;
"""


def _delegating_function(name: str, entry_id: str) -> str:
    """The 0002 version."""
    return f"""
CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM ledger_check_entry_balanced({entry_id});
    RETURN NULL;
END
$$;
"""


FORWARD_SQL = _trigger_function("ledger_posting_balanced_trigger", "NEW.entry_id") + _trigger_function(
    "ledger_entry_balanced_trigger", "NEW.id"
)
REVERSE_SQL = _delegating_function("ledger_posting_balanced_trigger", "NEW.entry_id") + _delegating_function(
    "ledger_entry_balanced_trigger", "NEW.id"
)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0004_post_entry_function")]

    operations = [PostgreSQLOnlyRunSQL(FORWARD_SQL, reverse_sql=REVERSE_SQL)]
