"""PostgreSQL-side guards for the history the programs domain must never rewrite.

* A published ``ProgramVersion`` refuses UPDATE and DELETE (a draft version may still be published or removed):
  claims record the version they were evaluated under, so its rules must stay what they were.
* ``ProgramExtension`` and ``ProviderStatusChange`` rows are append-only: they are the record of why a window
  or a listing changed.

SQLite has no such triggers; there the model and queryset guards enforce the same rules.
"""

from django.db import migrations

from core.migration_operations import PostgreSQLOnlyRunSQL

FORWARD_SQL = r"""
CREATE OR REPLACE FUNCTION programs_version_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.published_at IS NOT NULL THEN
        RAISE EXCEPTION 'programs: % of published program version % refused: publish a new version instead',
            TG_OP, OLD.id USING ERRCODE = 'restrict_violation';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER programs_programversion_frozen
    BEFORE UPDATE OR DELETE ON programs_programversion
    FOR EACH ROW EXECUTE FUNCTION programs_version_frozen();

CREATE OR REPLACE FUNCTION programs_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'programs: % on % refused: the table is append-only', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END
$$;

CREATE TRIGGER programs_programextension_append_only
    BEFORE UPDATE OR DELETE ON programs_programextension
    FOR EACH ROW EXECUTE FUNCTION programs_refuse_change();

CREATE TRIGGER programs_providerstatuschange_append_only
    BEFORE UPDATE OR DELETE ON programs_providerstatuschange
    FOR EACH ROW EXECUTE FUNCTION programs_refuse_change();
"""

REVERSE_SQL = r"""
DROP TRIGGER IF EXISTS programs_providerstatuschange_append_only ON programs_providerstatuschange;
DROP TRIGGER IF EXISTS programs_programextension_append_only ON programs_programextension;
DROP FUNCTION IF EXISTS programs_refuse_change();
DROP TRIGGER IF EXISTS programs_programversion_frozen ON programs_programversion;
DROP FUNCTION IF EXISTS programs_version_frozen();
"""


class Migration(migrations.Migration):
    dependencies = [("programs", "0002_version_source")]

    operations = [PostgreSQLOnlyRunSQL(FORWARD_SQL, reverse_sql=REVERSE_SQL)]
