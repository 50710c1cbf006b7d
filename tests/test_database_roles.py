"""The application's database role owns no table: it can neither disable a trigger, nor truncate, nor change a
journal or audit row, while it can do everything the application does (issue 10, item 7).

The suite itself runs as the schema's owner (as migrations do). This test connects to the test database as the
application's role: the one named by TEST_DATABASE_APP_USER / TEST_DATABASE_APP_PASSWORD (``.ci/run`` creates it),
or, when the suite runs as a role that may create roles, a temporary one named after the test database.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator

import psycopg
import pytest
from django.db import connection

from ledger import services
from voucher_service.database_roles import append_only_tables, grant_application_privileges

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _can_create_roles() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user")
        return bool(cursor.fetchone()[0])


@pytest.fixture
def app_role() -> Iterator[tuple[str, str]]:
    """(role, password) of an application role with the privileges ``migrate`` grants it."""
    user, password = os.environ.get("TEST_DATABASE_APP_USER", ""), os.environ.get("TEST_DATABASE_APP_PASSWORD", "")
    created = False
    if not user:
        if not _can_create_roles():
            pytest.fail("needs PostgreSQL role: set TEST_DATABASE_APP_USER (and _PASSWORD), or run as a superuser")
        user, password, created = f"{connection.settings_dict['NAME']}_app"[:63], secrets.token_urlsafe(16), True
        with connection.cursor() as cursor:
            cursor.execute(f"DROP ROLE IF EXISTS {connection.ops.quote_name(user)}")
            cursor.execute(f"CREATE ROLE {connection.ops.quote_name(user)} LOGIN PASSWORD %s", [password])
    grant_application_privileges(connection, user)
    yield user, password
    if created:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP OWNED BY {connection.ops.quote_name(user)}")
            cursor.execute(f"DROP ROLE {connection.ops.quote_name(user)}")


def connect_as(role: tuple[str, str]) -> psycopg.Connection:
    settings = connection.settings_dict
    return psycopg.connect(
        host=settings["HOST"] or "127.0.0.1",
        port=settings["PORT"] or 5432,
        dbname=settings["NAME"],
        user=role[0],
        password=role[1],
        autocommit=True,
    )


@pytest.fixture
def journal():
    source = services.account_create(code="roles:source", name="source")
    wallet = services.account_create(code="roles:wallet", name="wallet")
    entry = services.entry_post(
        actor=None, idempotency_key="roles-1", lines=[(source, "debit", 5), (wallet, "credit", 5)]
    )
    return entry, source, wallet


REFUSED = {
    "disable a trigger": "ALTER TABLE ledger_journalentry DISABLE TRIGGER ledger_journalentry_append_only",
    "drop a trigger": "DROP TRIGGER ledger_posting_append_only ON ledger_posting",
    "alter a table": "ALTER TABLE ledger_posting ADD COLUMN forged integer",
    "truncate the journal": "TRUNCATE ledger_journalentry CASCADE",
    "truncate the audit trail": "TRUNCATE accounts_auditevent",
    "update a journal row": "UPDATE ledger_journalentry SET memo = 'forged'",
    "update a posting": "UPDATE ledger_posting SET amount = amount + 1",
    "delete a posting": "DELETE FROM ledger_posting",
    "update a chain link": "UPDATE ledger_chainlink SET hash = repeat('0', 64)",
    "delete a seal": "DELETE FROM ledger_chainseal",
    "update the audit trail": "UPDATE accounts_auditevent SET action = 'forged'",
    "delete the audit trail": "DELETE FROM accounts_auditevent",
    "rewrite the migration history": "DELETE FROM django_migrations",
    "switch triggers off for the session": "SET session_replication_role = replica",
    "create a table": "CREATE TABLE forged (id int)",
}


def test_the_application_role_is_refused(app_role, journal):
    # (one test for them all: each transactional test costs a flush of every table)
    allowed = []
    with connect_as(app_role) as app:
        for name, statement in sorted(REFUSED.items()):
            try:
                app.execute(statement)
            except psycopg.errors.InsufficientPrivilege:
                continue
            allowed.append(name)
    assert allowed == []


def test_the_application_role_can_do_what_the_application_does(app_role, journal):
    # given the application's connection
    _entry, source, _wallet = journal
    with connect_as(app_role) as app:
        # it may post (the posting function inserts into the journal) …
        for table in append_only_tables():
            assert app.execute("SELECT has_table_privilege(current_user, %s, 'INSERT')", [table]).fetchone() == (True,)
        functions = "SELECT bool_and(has_function_privilege(current_user, oid, 'EXECUTE')) FROM pg_proc "
        assert app.execute(functions + "WHERE proname = 'ledger_post_entry'").fetchone() == (True,)
        # then it reads, posts through the database function, and updates balance rows and the sealer's queue
        assert app.execute("SELECT count(*) FROM ledger_journalentry").fetchone() == (1,)
        app.execute("UPDATE ledger_account SET name = name WHERE id = %s", [source.pk])
        app.execute("DELETE FROM ledger_unsealedentry WHERE entry_id = -1")
        app.execute(
            "INSERT INTO accounts_auditevent (occurred_at, action, target_type, target_id, detail) "
            "VALUES (now(), 'roles.test', 'x', '1', '{}')"
        )
        app.execute("SELECT 1 FROM django_migrations LIMIT 1")


def test_every_append_only_table_exists():
    # guards the list itself: a renamed table would silently keep its UPDATE and DELETE privileges
    with connection.cursor() as cursor:
        existing = set(connection.introspection.table_names(cursor))
    assert set(append_only_tables()) <= existing


def test_migrate_runs_as_the_owner_and_grants_the_application_role(app_role):
    # given an application role stripped of every privilege (as freshly created), and the two URLs a deployment
    # sets: DATABASE_URL for the application's role, DATABASE_OWNER_URL for the owner (here: this suite's role)
    import subprocess
    import sys
    from pathlib import Path
    from urllib.parse import quote

    quote_name = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {quote_name(app_role[0])}")
    with connect_as(app_role) as app, pytest.raises(psycopg.errors.InsufficientPrivilege):
        app.execute("SELECT count(*) FROM ledger_account")
    settings = connection.settings_dict
    where = f"{settings['HOST'] or '127.0.0.1'}:{settings['PORT'] or 5432}/{settings['NAME']}"
    owner = quote(settings["USER"]) + (f":{quote(settings['PASSWORD'])}" if settings["PASSWORD"] else "")
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "DATABASE_URL": f"postgres://{quote(app_role[0])}:{quote(app_role[1])}@{where}",
        "DATABASE_OWNER_URL": f"postgres://{owner}@{where}",
        "DB_POOL": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "PERSONAL_ID_HMAC_KEY": secrets.token_urlsafe(50),
        "LEDGER_SIGNING_KEY": secrets.token_urlsafe(50),
    }
    # when `manage.py migrate` runs (nothing left to migrate: it only grants)
    result = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=Path(__file__).resolve().parents[1],
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    # then the application's role may read and write what the application needs, and still not the journal
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Granted the application's role {app_role[0]!r}" in result.stdout
    with connect_as(app_role) as app:
        app.execute("SELECT count(*) FROM ledger_account")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            app.execute("UPDATE ledger_posting SET amount = amount")
