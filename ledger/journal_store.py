"""Writing an entry, its postings and the new balances: the posting hot path.

No global lock: the entry id comes from the table's sequence and the entry carries its body digest; the hash
chain is appended later by the sealer (``ledger.sealing``). The only locks are the balance rows, locked in pk
order. Two implementations of one posting:

* PostgreSQL: ONE call of the database function ``ledger_post_entry`` (migration 0004), which locks the balance
  rows, checks currency, idempotency, reversal and limits, and writes the entry, its sealer queue row, its
  postings and the balances. One round trip instead of three, and no ORM instances on the way: client CPU per
  entry was what limited the posting rate (``BENCHMARKS.md``).
* Any other backend (SQLite): ``ledger.services`` locks and checks in Python and ``append_entry`` writes through
  the ORM. SQLite serialises writers anyway.

Holds are created and released through the Python path on both backends (``lock_accounts``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from django.db import DEFAULT_DB_ALIAS, connection, connections
from psycopg.types.json import Jsonb

from core.transactions import lock_in_pk_order
from ledger import errors
from ledger.hashing import canonical_json, entry_body_digest, entry_document_parts
from ledger.models import Account, JournalEntry, Posting, UnsealedEntry
from ledger.validation import EntryDraft

# JournalEntry's columns in model order; ``_outcome`` knows each one (a new column fails loudly there).
_ENTRY_ATTNAMES = tuple(field.attname for field in JournalEntry._meta.concrete_fields)
BALANCE_FIELDS = ["posted_debits", "posted_credits", "pending_debits", "pending_credits", "version"]


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
    wrapper = connections[DEFAULT_DB_ALIAS]  # once: each ``connection.<name>`` is a thread-local lookup
    wrapper.ensure_connection()
    pg_connection = wrapper.connection
    if pg_connection.prepare_threshold is None:
        # None (Django's default) disables preparing outright, even with prepare=True. Any number re-enables
        # it; Django's own client-side cursors never prepare, and only this module asks for it.
        pg_connection.prepare_threshold = _NEVER_BY_COUNT
    with wrapper.wrap_database_errors, psycopg.Cursor(pg_connection) as cursor:
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


def posts_in_database() -> bool:
    """Whether entries are posted by the database's own function (PostgreSQL) or by the portable Python path."""
    return connection.vendor == "postgresql"


_POST_ENTRY_SQL = (
    "SELECT * FROM ledger_post_entry(%s::text, %s::text, %s::text, %s::timestamptz, %s::text, %s::jsonb, "
    "%s::bigint, %s::bigint, %s::text, %s::text, %s::text, "
    "%s::bigint[], %s::text[], %s::bigint[], %s::bigint[], %s::bigint[])"
)


def post_in_database(draft: EntryDraft) -> tuple[JournalEntry, bool]:
    """Post ``draft`` with ``ledger_post_entry`` (migration 0004): lock, check and write in one call.

    Returns the entry and whether it was written now (False: a replay of the entry holding the key). Raises the
    same ``LedgerError`` as the portable path for every refusal; the function writes nothing then.

    ``recorded_at`` is the database server's clock (``clock_timestamp()`` once the rows are locked), one clock for
    every application host; compare it with the database's ``now()`` rather than an application host's clock.
    """
    with _prepared_cursor() as cursor:
        # Binary results: cheaper to load than text (the two timestamps above all).
        cursor.execute(_POST_ENTRY_SQL, _post_entry_params(draft), prepare=True, binary=True)
        row = cursor.fetchone()
    outcome = _outcome(draft, row)
    if isinstance(outcome, errors.LedgerError):
        raise outcome
    return outcome


_POST_ENTRIES_SQL = (
    "SELECT * FROM ledger_post_entries(%s::text[], %s::text[], %s::text[], %s::timestamptz[], %s::text[], "
    "%s::text[], %s::bigint, %s::text[], %s::text[], %s::text[], %s::int[], "
    "%s::bigint[], %s::int[], %s::int[], %s::text[], %s::bigint[])"
)


def post_many_in_database(drafts: Sequence[EntryDraft]) -> list[tuple[JournalEntry, bool] | errors.LedgerError]:
    """Post ``drafts`` in order with ONE call of ``ledger_post_entries`` (migration 0008), inside the caller's
    transaction: every balance row of the batch locked once, in pk order, each draft judged against the balances
    the ones before it left, and the posted ones written with one statement per table.

    Each result is what ``post_in_database`` returns for that draft, or the ``LedgerError`` it would raise: a
    refused draft writes nothing and the drafts after it carry on. Batches hold neither reversals nor hold
    releases, and share one actor (``ledger.batch``).
    """
    if not drafts:
        return []
    account_ids = sorted({line.account_id for draft in drafts for line in draft.lines})
    slot = {account_id: index for index, account_id in enumerate(account_ids, start=1)}
    first_of_key: dict[str, int] = {}
    repeats: list[int] = []
    line_entry: list[int] = []
    line_slot: list[int] = []
    line_direction: list[str] = []
    line_amount: list[int] = []
    parts = []
    for index, draft in enumerate(drafts, start=1):
        repeats.append(first_of_key.get(draft.idempotency_key, 0))  # an earlier entry of the batch with this key
        first_of_key.setdefault(draft.idempotency_key, index)
        for line in sorted(draft.lines, key=lambda line: line.account_id):
            line_entry.append(index)
            line_slot.append(slot[line.account_id])
            line_direction.append(line.direction.value)
            line_amount.append(line.amount)
        parts.append(_document_parts(draft))
    params = [
        [draft.idempotency_key for draft in drafts],
        [draft.fingerprint for draft in drafts],
        [draft.currency for draft in drafts],
        [draft.effective_at for draft in drafts],
        [draft.memo for draft in drafts],
        [canonical_json(draft.metadata).decode() for draft in drafts],
        drafts[0].actor_id,
        [head for head, _, _ in parts],
        [middle for _, middle, _ in parts],
        [tail for _, _, tail in parts],
        _array_literal(repeats),
        _array_literal(account_ids),
        _array_literal(line_entry),
        _array_literal(line_slot),
        _array_literal(line_direction),
        _array_literal(line_amount),
    ]
    with _prepared_cursor() as cursor:
        cursor.execute(_POST_ENTRIES_SQL, params, prepare=True, binary=True)
        rows = cursor.fetchall()
    return [_outcome(draft, row) for draft, row in zip(drafts, rows, strict=True)]


def _document_parts(draft: EntryDraft) -> tuple[str, str, str]:
    """The canonical body document of ``draft`` around the three values only the database knows."""
    return entry_document_parts(
        idempotency_key=draft.idempotency_key,
        request_fingerprint=draft.fingerprint,
        currency=draft.currency,
        memo=draft.memo,
        metadata=draft.metadata,
        actor_id=draft.actor_id,
        reverses_id=draft.reverses_id,
    )


def _post_entry_params(draft: EntryDraft) -> list[object]:
    lines = sorted(draft.lines, key=lambda line: line.account_id)
    release = [draft.pending_release.get(line.account_id, (0, 0)) for line in lines]
    head, middle, tail = _document_parts(draft)
    return [
        draft.idempotency_key,
        draft.fingerprint,
        draft.currency,
        draft.effective_at,
        draft.memo,
        Jsonb(draft.metadata),
        draft.actor_id,
        draft.reverses_id,
        head,
        middle,
        tail,
        _array_literal(line.account_id for line in lines),
        _array_literal(line.direction.value for line in lines),
        _array_literal(line.amount for line in lines),
        _array_literal(debits for debits, _ in release),
        _array_literal(credits for _, credits in release),
    ]


def _outcome(draft: EntryDraft, row: tuple[Any, ...] | None) -> tuple[JournalEntry, bool] | errors.LedgerError:
    """The entry ``ledger_post_entry`` wrote or replayed for ``draft`` (and whether it was written), or its
    refusal as the ``LedgerError`` the portable path raises."""
    if row is None:  # pragma: no cover - the function always returns one row
        raise RuntimeError("ledger_post_entry returned no row")
    outcome, entry_id, account_code, detail, recorded_at, effective_at, digest = row
    if outcome == "posted":
        known = {
            "id": entry_id,
            "idempotency_key": draft.idempotency_key,
            "request_fingerprint": draft.fingerprint,
            "currency": draft.currency,
            "effective_at": effective_at,
            "recorded_at": recorded_at,
            "memo": draft.memo,
            "metadata": draft.metadata,
            "actor_id": draft.actor_id,
            "reverses_id": draft.reverses_id,
            "body_digest": digest,
        }
        # Every column is known: built as a row read from the database (positional, cheaper than keywords).
        return JournalEntry.from_db(DEFAULT_DB_ALIAS, _ENTRY_ATTNAMES, [known[name] for name in _ENTRY_ATTNAMES]), True
    if outcome == "replay":
        return JournalEntry.objects.get(pk=entry_id), False
    return _refusal(outcome, draft, account_code, detail)


def _array_literal(items: Iterable[int | str]) -> str:
    """A PostgreSQL array literal of integers or of the words "debit"/"credit" (nothing to quote). Sent as text
    and cast by the statement: cheaper on the client than adapting Python lists element by element."""
    return "{" + ",".join(map(str, items)) + "}"


def _refusal(outcome: str, draft: EntryDraft, account_code: str, detail: str) -> errors.LedgerError:
    if outcome == "conflict":
        return errors.idempotency_conflict(draft.idempotency_key)
    if outcome == "unknown_account":
        return errors.unknown_accounts(int(account_id) for account_id in detail.split(","))
    if outcome == "currency":
        return errors.currency_mismatch(account_code, detail, draft.currency)
    if outcome == "already_reversed":
        return errors.already_reversed(draft.reverses_id)
    if outcome == "limit":
        return errors.limit_exceeded(account_code, detail)
    raise RuntimeError(f"ledger_post_entry returned an unknown outcome {outcome!r}")  # pragma: no cover


def append_entry(entry: JournalEntry, postings: Sequence[Posting], accounts: Sequence[Account]) -> bool:
    """The portable path: write ``entry`` (its id and body digest are filled in here) with its postings and the
    locked ``accounts``' new balances. Returns False, writing nothing, when the idempotency key is taken.
    """
    entry.body_digest = entry_body_digest(entry, postings)
    if JournalEntry.objects.filter(idempotency_key=entry.idempotency_key).exists():
        return False
    entry.save(force_insert=True)
    UnsealedEntry.objects.bulk_create([UnsealedEntry(entry_id=entry.pk)])
    for posting in postings:
        posting.entry_id = entry.pk
    Posting.objects.bulk_create(postings, batch_size=1000)
    Account.objects.bulk_update(list(accounts), BALANCE_FIELDS, batch_size=1000)
    return True
