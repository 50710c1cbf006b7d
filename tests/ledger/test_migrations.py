"""The invariant migration is reversible: its reverse SQL drops the triggers, its forward SQL restores them.

The SQL is run directly inside the test's transaction (PostgreSQL DDL is transactional and rolled back),
rather than through ``migrate ledger 0001``, which would also unapply other apps' migrations that depend
on the ledger and disturb the rest of the test session.
"""

from __future__ import annotations

import importlib

import pytest
from django.db import connection

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

invariants = importlib.import_module("ledger.migrations.0002_database_invariants")
sealing = importlib.import_module("ledger.migrations.0003_asynchronous_sealing")
post_function = importlib.import_module("ledger.migrations.0004_post_entry_function")
inline_triggers = importlib.import_module("ledger.migrations.0005_inline_balance_triggers")
signed_seals = importlib.import_module("ledger.migrations.0006_signed_seals")
batch_function = importlib.import_module("ledger.migrations.0008_post_entries_function")

INVARIANT_TRIGGERS = {
    "ledger_journalentry_append_only",
    "ledger_posting_append_only",
    "ledger_posting_entry_balanced",
    "ledger_entry_has_balanced_postings",
}
LEDGER_TRIGGERS = INVARIANT_TRIGGERS | {"ledger_chainlink_append_only", "ledger_chainseal_append_only"}


def ledger_triggers() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tgname FROM pg_trigger WHERE tgname LIKE 'ledger_%%' AND NOT tgisinternal")
        return {name for (name,) in cursor.fetchall()}


def execute(sql: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql)


def test_invariant_sql_round_trip():
    # given
    assert ledger_triggers() == LEDGER_TRIGGERS
    # when: unapplied in reverse migration order (0003's and 0006's triggers use 0002's function)
    execute(signed_seals.DROP_SEAL_TRIGGER_SQL)
    execute(sealing.DROP_LINK_TRIGGER_SQL)
    assert ledger_triggers() == INVARIANT_TRIGGERS
    execute(invariants.REVERSE_SQL)
    # then
    assert ledger_triggers() == set()
    # when
    execute(invariants.FORWARD_SQL)
    execute(sealing.LINK_TRIGGER_SQL)
    execute(signed_seals.SEAL_TRIGGER_SQL)
    # then
    assert ledger_triggers() == LEDGER_TRIGGERS


def posting_functions() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT proname FROM pg_proc WHERE proname IN ('ledger_post_entry', 'ledger_post_entries')")
        return {name for (name,) in cursor.fetchall()}


def test_post_function_sql_round_trip():
    # given
    assert posting_functions() == {"ledger_post_entry", "ledger_post_entries"}
    # when
    execute(post_function.REVERSE_SQL)
    # then
    assert posting_functions() == {"ledger_post_entries"}
    # when
    execute(post_function.FORWARD_SQL)
    # then
    assert posting_functions() == {"ledger_post_entry", "ledger_post_entries"}


def test_batch_post_function_sql_round_trip():
    # given
    assert "ledger_post_entries" in posting_functions()
    # when
    execute(batch_function.REVERSE_SQL)
    # then
    assert posting_functions() == {"ledger_post_entry"}
    # when
    execute(batch_function.FORWARD_SQL)
    # then
    assert posting_functions() == {"ledger_post_entry", "ledger_post_entries"}


def balance_trigger_sources() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT prosrc FROM pg_proc"
            " WHERE proname IN ('ledger_posting_balanced_trigger', 'ledger_entry_balanced_trigger')"
        )
        return {source for (source,) in cursor.fetchall()}


def test_inline_balance_triggers_round_trip():
    # given: both triggers aggregate the postings themselves
    assert all("SUM(" in source for source in balance_trigger_sources())
    # when
    execute(inline_triggers.REVERSE_SQL)
    # then: back to delegating every check to ledger_check_entry_balanced
    assert not any("SUM(" in source for source in balance_trigger_sources())
    # when
    execute(inline_triggers.FORWARD_SQL)
    # then
    assert all("SUM(" in source for source in balance_trigger_sources())


@pytest.mark.parametrize(
    "migration",
    [invariants, sealing, post_function, inline_triggers, batch_function],
    ids=["0002", "0003", "0004", "0005", "0008"],
)
def test_migration_operations_are_reversible(migration):
    operations = migration.Migration.operations
    assert all(op.reversible for op in operations)
