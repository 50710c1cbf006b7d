"""Writing an entry, its postings and the new balances: the posting hot path.

No global lock: the entry id comes from the table's sequence and the entry carries its body digest; the hash
chain is appended later by the sealer (``ledger.sealing``). The only locks are the balance rows, locked in pk
order by the caller. Two implementations:

* PostgreSQL: ONE statement. Data-modifying CTEs insert the entry (``ON CONFLICT (idempotency_key) DO
  NOTHING``), queue it for the sealer (``UnsealedEntry``), insert the postings and update the balance rows,
  each part conditional on the entry insert, so a
  racing twin with the same key becomes a replay instead of a unique violation that would abort the caller's
  transaction.
* Any other backend (SQLite): the same steps through the ORM. SQLite serialises writers anyway.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from django.db import connection

from ledger.concurrency import lock_in_pk_order
from ledger.hashing import entry_body_digest
from ledger.models import Account, JournalEntry, Posting, UnsealedEntry

BALANCE_FIELDS = ["posted_debits", "posted_credits", "pending_debits", "pending_credits", "version"]
# PostgreSQL allows 65,535 bind parameters per statement; each posting and each account takes six. A larger
# entry (a bulk issuance) takes the portable path, whose ORM writes are batched.
MAX_ROWS_IN_ONE_STATEMENT = 4_000


_LOCKED_ACCOUNT_COLUMNS = (
    "id",
    "code",
    "currency",
    "debits_must_not_exceed_credits",
    "credits_must_not_exceed_debits",
    "posted_debits",
    "posted_credits",
    "pending_debits",
    "pending_credits",
    "version",
)


_LOCK_ACCOUNTS_SQL = (
    f"SELECT {', '.join(_LOCKED_ACCOUNT_COLUMNS)} FROM ledger_account "  # noqa: S608 - constant columns
    "WHERE id = ANY(%s::bigint[]) ORDER BY id FOR UPDATE"
)


_NEVER_BY_COUNT = 2**31


@contextmanager
def _prepared_cursor() -> Iterator[psycopg.Cursor]:
    """A psycopg cursor with server-side parameters, for the few statements of the posting hot path.

    Django binds parameters on the client and disables psycopg's automatic preparation, so every statement
    is parsed and planned again; ``execute(..., prepare=True)`` on this cursor plans each hot statement once
    per connection. Errors are translated to ``django.db`` exceptions as usual (the retry logic needs them).
    """
    connection.ensure_connection()
    pg_connection = connection.connection
    if pg_connection.prepare_threshold is None:
        # None (Django's default) disables preparing outright, even with prepare=True. Any number re-enables
        # it; Django's own client-side cursors never prepare, and only this module asks for it.
        pg_connection.prepare_threshold = _NEVER_BY_COUNT
    with connection.wrap_database_errors, psycopg.Cursor(pg_connection) as cursor:
        yield cursor


def lock_accounts(account_ids: set[int]) -> list[Account]:
    """``lock_in_pk_order`` for balance rows, as hand-written SQL on PostgreSQL.

    Compiling an ORM query (or a raw queryset) costs more client CPU than PostgreSQL spends running it, and
    on a busy host that CPU is what limits the posting rate. The instances carry only the columns the
    posting path reads and writes; any other field loads on access.
    """
    if connection.vendor != "postgresql":
        return lock_in_pk_order(Account, account_ids)
    with _prepared_cursor() as cursor:
        cursor.execute(_LOCK_ACCOUNTS_SQL, [sorted(account_ids)], prepare=True)
        rows = cursor.fetchall()
    return [Account.from_db(connection.alias, _LOCKED_ACCOUNT_COLUMNS, row) for row in rows]


def fingerprint_for_key(table: str, idempotency_key: str) -> tuple[int, str] | None:
    """(id, request fingerprint) of the row holding this idempotency key, if any (plain SQL, both backends)."""
    sql = f"SELECT id, request_fingerprint FROM {connection.ops.quote_name(table)} WHERE idempotency_key = %s"  # noqa: S608
    if connection.vendor == "postgresql":
        with _prepared_cursor() as cursor:
            cursor.execute(sql, [idempotency_key], prepare=True)
            row = cursor.fetchone()
    else:
        with connection.cursor() as django_cursor:
            django_cursor.execute(sql, [idempotency_key])
            row = django_cursor.fetchone()
    return None if row is None else (row[0], row[1])


def append_entry(entry: JournalEntry, postings: Sequence[Posting], accounts: Sequence[Account]) -> bool:
    """Write ``entry`` (its id and body digest are filled in here) with its postings and the locked
    ``accounts``' new balances. Returns False, writing nothing, when the idempotency key is taken.

    COMMIT is left to the caller's transaction. (Sending it pipelined with this statement paid off while a
    global chain lock was held through COMMIT; with only per-account locks it measured no better.)
    """
    entry.body_digest = entry_body_digest(entry, postings)
    if connection.vendor == "postgresql" and len(postings) + len(accounts) <= MAX_ROWS_IN_ONE_STATEMENT:
        return _append_postgresql(entry, postings, accounts)
    return _append_portable(entry, postings, accounts)


def _append_portable(entry: JournalEntry, postings: Sequence[Posting], accounts: Sequence[Account]) -> bool:
    if JournalEntry.objects.filter(idempotency_key=entry.idempotency_key).exists():
        return False
    entry.save(force_insert=True)
    UnsealedEntry.objects.bulk_create([UnsealedEntry(entry_id=entry.pk)])
    _link(entry, postings, entry.pk)
    Posting.objects.bulk_create(postings, batch_size=1000)
    Account.objects.bulk_update(list(accounts), BALANCE_FIELDS, batch_size=1000)
    return True


def _link(entry: JournalEntry, postings: Sequence[Posting], entry_id: int) -> None:
    entry.id = entry_id
    for posting in postings:
        posting.entry_id = entry_id


_POSTING_VALUES = "(%s::bigint, %s::varchar, %s::bigint, %s::bigint, %s::bigint, %s::timestamptz)"
_BALANCE_VALUES = "(%s::bigint, %s::bigint, %s::bigint, %s::bigint, %s::bigint, %s::bigint)"


def _append_sql(posting_count: int, account_count: int) -> str:
    return f"""
        WITH new_entry AS (
            INSERT INTO ledger_journalentry (idempotency_key, request_fingerprint, currency, effective_at,
                recorded_at, memo, metadata, actor_id, reverses_id, body_digest)
            VALUES (%s, %s, %s, %s::timestamptz, %s::timestamptz, %s, %s::jsonb, %s::bigint, %s::bigint, %s)
            ON CONFLICT (idempotency_key) DO NOTHING
            RETURNING id
        ), queued AS (
            INSERT INTO ledger_unsealedentry (entry_id) SELECT id FROM new_entry
        ), new_postings AS (
            INSERT INTO ledger_posting
                (entry_id, account_id, direction, amount, account_version, balance_after, recorded_at)
            SELECT new_entry.id, p.account_id, p.direction, p.amount, p.account_version, p.balance_after,
                   p.recorded_at
            FROM new_entry CROSS JOIN (VALUES {", ".join([_POSTING_VALUES] * posting_count)})
                AS p (account_id, direction, amount, account_version, balance_after, recorded_at)
        ), balances AS (
            UPDATE ledger_account AS account
            SET posted_debits = b.posted_debits, posted_credits = b.posted_credits,
                pending_debits = b.pending_debits, pending_credits = b.pending_credits, version = b.version
            FROM (VALUES {", ".join([_BALANCE_VALUES] * account_count)})
                AS b (id, posted_debits, posted_credits, pending_debits, pending_credits, version)
            WHERE account.id = b.id AND EXISTS (SELECT 1 FROM new_entry)
        )
        SELECT id FROM new_entry
    """  # noqa: S608 - only placeholders are interpolated; every value is a bound parameter


def _execute_server_bound(sql: str, params: Sequence[Any]) -> tuple[Any, ...] | None:
    """Run the append statement, prepared once per connection."""
    with _prepared_cursor() as cursor:
        cursor.execute(sql, params, prepare=True)
        return cursor.fetchone()


def _append_postgresql(entry: JournalEntry, postings: Sequence[Posting], accounts: Sequence[Account]) -> bool:
    """True when written, False when the key was taken (nothing written)."""
    params: list[Any] = [entry.idempotency_key, entry.request_fingerprint, entry.currency, entry.effective_at]
    params += [entry.recorded_at, entry.memo, json.dumps(entry.metadata), entry.actor_id, entry.reverses_id]
    params.append(entry.body_digest)
    for p in postings:
        params += [p.account_id, str(p.direction), p.amount, p.account_version, p.balance_after, p.recorded_at]
    for a in accounts:
        params += [a.pk, a.posted_debits, a.posted_credits, a.pending_debits, a.pending_credits, a.version]
    row = _execute_server_bound(_append_sql(len(postings), len(accounts)), params)
    if row is None:
        return False
    _link(entry, postings, row[0])
    return True
