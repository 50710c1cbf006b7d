"""Posting many journal entries in one transaction: ``entries_post_many``.

For bulk work (a batch of settlements, a migration of opening balances, a replay of an external file) one
transaction per entry costs a commit, and on PostgreSQL a WAL flush, per entry. Here the whole batch is one
``service_write``: on PostgreSQL the balance rows of every entry are locked once, in primary-key order (so two
batches, or a batch and single posts, can never deadlock), and the entries are sent to ``ledger_post_entry`` in
one pipeline (``journal_store.post_many_in_database``); on other backends each entry runs the portable path in a
savepoint.

Every entry is judged on its own, in the order given, against the balances the entries before it left: a
refusal (invalid input, unknown account, another currency, an idempotency conflict, a second reversal, a broken
limit) is returned in that entry's place and writes nothing for it, and the others still post. A repeated key
with the same request replays its entry, inside the batch as across batches. Only an unexpected database error
(a lock timeout, say) aborts the whole batch, as any failed statement aborts a transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction

from core.transactions import service_write
from ledger import errors, services
from ledger.errors import LedgerError
from ledger.journal_store import post_many_in_database
from ledger.models import DEFAULT_CURRENCY, JournalEntry
from ledger.sealing import request_seal
from ledger.validation import EntryDraft, LineInput, actor_pk, draft_entry, normalise_lines

# One batch is one transaction holding every row lock it touches until it commits; larger batches lock out
# single posts for longer and gain nothing measurable (BENCHMARKS.md, ledger batch).
MAX_ENTRIES_PER_BATCH = 1000


@dataclass(frozen=True)
class EntryRequest:
    """One entry of a batch: the arguments ``entry_post`` takes, but for the actor (one per batch)."""

    idempotency_key: str
    lines: Sequence[LineInput]
    memo: str = ""
    metadata: dict[str, Any] | None = None
    effective_at: datetime | None = None
    currency: str = DEFAULT_CURRENCY


@dataclass(frozen=True)
class EntryResult:
    """What became of one request: the entry posted (``replayed``: an earlier entry with its key), or the
    refusal, in which case nothing was written for it."""

    entry: JournalEntry | None = None
    replayed: bool = False
    error: LedgerError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@service_write
def entries_post_many(*, actor: Any, requests: Sequence[EntryRequest]) -> list[EntryResult]:
    """Post ``requests`` in order in one transaction; one ``EntryResult`` per request, in the same order.

    A service write: its own durable transaction with retries when called alone (a retry reruns the whole
    batch), part of the caller's transaction otherwise. Raises a ``LedgerError`` only for the batch itself
    (empty, or more than ``MAX_ENTRIES_PER_BATCH`` entries).
    """
    if not requests:
        raise errors.invalid_entry("A batch needs at least one entry.")
    if len(requests) > MAX_ENTRIES_PER_BATCH:
        raise errors.invalid_entry(f"A batch takes at most {MAX_ENTRIES_PER_BATCH} entries, not {len(requests)}.")
    actor_id = actor_pk(actor)
    results: list[EntryResult | None] = []
    drafts: list[EntryDraft] = []
    for request in requests:
        try:
            drafts.append(_draft(request, actor_id))
            results.append(None)  # filled in once posted
        except LedgerError as refusal:
            results.append(EntryResult(error=refusal))
    posted = _post_drafts(drafts)
    return [result if result is not None else posted.pop(0) for result in results]


def _draft(request: EntryRequest, actor_id: int | None) -> EntryDraft:
    return draft_entry(
        idempotency_key=request.idempotency_key,
        lines=normalise_lines(request.lines),
        currency=request.currency,
        memo=request.memo,
        metadata=request.metadata,
        actor_id=actor_id,
        effective_at=request.effective_at,
    )


def _post_drafts(drafts: list[EntryDraft]) -> list[EntryResult]:
    if not services.posts_in_database():
        return _post_portably(drafts)
    results = []
    for outcome in post_many_in_database(drafts):
        if isinstance(outcome, LedgerError):
            results.append(EntryResult(error=outcome))
        else:
            entry, written = outcome
            results.append(EntryResult(entry=entry, replayed=not written))
    if any(result.entry is not None and not result.replayed for result in results):
        request_seal()  # once, after the outermost COMMIT
    return results


def _post_portably(drafts: list[EntryDraft]) -> list[EntryResult]:
    """The portable path, each draft in a savepoint (refusals are raised before anything is written; the
    savepoint makes sure of it). A key taken before the batch, or by an entry of the batch already posted, is a
    replay: the keys are read once, not once per entry."""
    taken = set(
        JournalEntry.objects.filter(idempotency_key__in={draft.idempotency_key for draft in drafts}).values_list(
            "idempotency_key", flat=True
        )
    )
    results = []
    for draft in drafts:
        try:
            with transaction.atomic():
                entry = services.post_draft(draft)
        except LedgerError as refusal:
            results.append(EntryResult(error=refusal))
            continue
        results.append(EntryResult(entry=entry, replayed=draft.idempotency_key in taken))
        taken.add(draft.idempotency_key)
    return results
