"""The two PostgreSQL roles: the owner of the schema (migrations) and the application's role (everything else).

The application connects as a role that owns no table. Only an owner (or a superuser) can ``ALTER TABLE … DISABLE
TRIGGER``, drop a trigger, or ``TRUNCATE``; so whoever takes over the application's connection can neither
switch off the journal's append-only and zero-sum triggers nor empty a table, and the privileges granted here
refuse even the UPDATE and DELETE of journal and audit rows (the triggers refuse them too: two locks, one key
each). ``manage.py migrate`` runs as the owner (``DATABASE_OWNER_URL``) and calls ``grant_application_privileges``
after every migration, so new tables are covered as soon as they exist.
"""

from __future__ import annotations

from django.apps import apps
from django.db.backends.base.base import BaseDatabaseWrapper

# (app label, model name) of the append-only tables: rows are inserted and read, never changed or removed.
APPEND_ONLY_MODELS = (
    ("ledger", "JournalEntry"),
    ("ledger", "Posting"),
    ("ledger", "ChainLink"),
    ("ledger", "ChainSeal"),
    ("accounts", "AuditEvent"),
    ("accounts", "EntityBar"),
)
# The migration history is the owner's: the application reads it (Django checks it at start), never writes it.
READ_ONLY_TABLES = ("django_migrations",)


def append_only_tables() -> list[str]:
    return [apps.get_model(label, name)._meta.db_table for label, name in APPEND_ONLY_MODELS]


def grant_application_privileges(connection: BaseDatabaseWrapper, role: str) -> None:
    """Give ``role`` what the application needs on the schema ``connection`` owns, and nothing more. Idempotent."""
    if connection.vendor != "postgresql":
        return
    quote = connection.ops.quote_name
    grantee = quote(role)
    statements = [
        f"GRANT USAGE ON SCHEMA public TO {grantee}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {grantee}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {grantee}",
        f"GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO {grantee}",
        # Never TRUNCATE, REFERENCES or TRIGGER; and no ownership, so no ALTER, DROP or DISABLE TRIGGER.
        f"REVOKE TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA public FROM {grantee}",
    ]
    for table in append_only_tables():
        statements.append(f"REVOKE UPDATE, DELETE ON {quote(table)} FROM {grantee}")
    for table in READ_ONLY_TABLES:
        statements.append(f"REVOKE INSERT, UPDATE, DELETE ON {quote(table)} FROM {grantee}")
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
