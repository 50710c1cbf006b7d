"""Security hardening of who-did-what (issue 10).

* ``Organization.settled_on_certified_by``: who last recorded the settling-in date, kept on the row (the
  settling-in award's separation of duties read it from the newest 50 audit events, which 50 empty updates
  pushed out of sight). Backfilled from the audit trail, whole, not windowed.
* Makers' personal-ID hints show the last four characters only (they showed six).
* PostgreSQL: the audit table refuses UPDATE and DELETE, like the ledger's journal.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from core.migration_operations import PostgreSQLOnlyRunSQL

AUDIT_TRIGGER_SQL = r"""
CREATE OR REPLACE FUNCTION accounts_refuse_audit_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'accounts: % on % refused: the audit trail is append-only', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END
$$;

CREATE TRIGGER accounts_auditevent_append_only
    BEFORE UPDATE OR DELETE ON accounts_auditevent
    FOR EACH ROW EXECUTE FUNCTION accounts_refuse_audit_change();
"""

DROP_AUDIT_TRIGGER_SQL = r"""
DROP TRIGGER IF EXISTS accounts_auditevent_append_only ON accounts_auditevent;
DROP FUNCTION IF EXISTS accounts_refuse_audit_change();
"""


def backfill_certifiers(apps, schema_editor):
    """For each organisation, the actor of the newest audited create/update that changed ``settled_on``."""
    alias = schema_editor.connection.alias
    Organization = apps.get_model("accounts", "Organization")
    AuditEvent = apps.get_model("accounts", "AuditEvent")
    found: dict[str, int | None] = {}
    events = AuditEvent.objects.using(alias).filter(
        target_type="accounts.organization", action__in=["organization.create", "organization.update"]
    )
    for target_id, actor_id, before, after in events.order_by("id").values_list(
        "target_id", "actor_id", "before", "after"
    ):
        if (before or {}).get("settled_on") != (after or {}).get("settled_on"):
            found[target_id] = actor_id
    for target_id, actor_id in found.items():
        if actor_id is not None and target_id.isdigit():
            Organization.objects.using(alias).filter(pk=int(target_id), settled_on__isnull=False).update(
                settled_on_certified_by_id=actor_id
            )


def shorten_hints(apps, schema_editor):
    Organization = apps.get_model("accounts", "Organization")
    for organization in Organization.objects.using(schema_editor.connection.alias).exclude(personal_id_hint=""):
        hint = organization.personal_id_hint
        shorter = "*" * (len(hint) - 4) + hint[-4:]
        if shorter != hint:
            Organization.objects.using(schema_editor.connection.alias).filter(pk=organization.pk).update(
                personal_id_hint=shorter
            )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_load_jurisdictions"),
    ]

    operations = [
        migrations.AddField(
            model_name="organization",
            name="settled_on_certified_by",
            field=models.ForeignKey(
                blank=True,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="settling-in date recorded by",
            ),
        ),
        migrations.RunPython(backfill_certifiers, migrations.RunPython.noop),
        migrations.RunPython(shorten_hints, migrations.RunPython.noop),
        PostgreSQLOnlyRunSQL(AUDIT_TRIGGER_SQL, reverse_sql=DROP_AUDIT_TRIGGER_SQL),
    ]
