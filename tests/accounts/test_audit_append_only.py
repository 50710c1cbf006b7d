"""The audit trail is append-only: the ORM refuses changes, and on PostgreSQL so does a trigger (issue 10, item 8)."""

import pytest
from django.db import IntegrityError, connection, transaction

from accounts.audit import SYSTEM, audit_record
from accounts.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def event(entity):
    with transaction.atomic():
        return audit_record(actor=SYSTEM, action="test.event", target=entity, organization=entity)


@pytest.mark.parametrize(
    "write",
    [
        lambda e: AuditEvent.objects.filter(pk=e.pk).update(action="rewritten"),
        lambda e: AuditEvent.objects.filter(pk=e.pk).delete(),
        lambda e: e.save(),
        lambda e: e.delete(),
    ],
    ids=["queryset-update", "queryset-delete", "save", "delete"],
)
def test_the_orm_refuses_to_change_an_audit_event(event, write):
    with pytest.raises(RuntimeError, match="append-only"):
        write(event)
    assert AuditEvent.objects.get(pk=event.pk).action == "test.event"


@pytest.mark.postgres
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE accounts_auditevent SET action = 'rewritten' WHERE id = %s",
        "DELETE FROM accounts_auditevent WHERE id = %s",
    ],
    ids=["update", "delete"],
)
def test_postgresql_refuses_raw_changes_of_the_audit_trail(event, sql):
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, [event.pk])
    assert AuditEvent.objects.get(pk=event.pk).action == "test.event"


@pytest.mark.postgres
def test_the_audit_trigger_migration_is_reversible():
    import importlib

    migration = importlib.import_module("accounts.migrations.0003_security_hardening")

    def triggers():
        with connection.cursor() as cursor:
            cursor.execute("SELECT tgname FROM pg_trigger WHERE tgrelid = 'accounts_auditevent'::regclass")
            return {name for (name,) in cursor.fetchall() if not name.startswith("RI_")}

    assert triggers() == {"accounts_auditevent_append_only"}
    with connection.cursor() as cursor:
        cursor.execute(migration.DROP_AUDIT_TRIGGER_SQL)
        assert triggers() == set()
        cursor.execute(migration.AUDIT_TRIGGER_SQL)
    assert triggers() == {"accounts_auditevent_append_only"}
