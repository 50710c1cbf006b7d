"""Canonical serialisation and SHA-256 of journal entries: the hash chain an auditor can recompute.

The hash covers the entry, its postings (including each account version and balance-after, so a rewritten
balance history breaks the chain too), the entry id and the previous entry's hash:
``hash = SHA-256("<prev_hash>:<id>:<SHA-256 of the canonical JSON of entry and postings>")``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from ledger.models import JournalEntry, Posting


def canonical_json(value: Any) -> bytes:
    """Deterministic JSON: sorted keys, no whitespace, UTF-8. Floats never get here (refused on input)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def iso_utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def sha256_hex(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


def entry_body_digest(entry: JournalEntry, postings: Iterable[Posting]) -> str:
    """SHA-256 of everything in the entry except its place in the chain (id and previous hash)."""
    posting_rows = sorted(
        [p.account_id, str(p.direction), p.amount, p.account_version, p.balance_after, iso_utc(p.recorded_at)]
        for p in postings
    )
    document = {
        "idempotency_key": entry.idempotency_key,
        "request_fingerprint": entry.request_fingerprint,
        "currency": entry.currency,
        "effective_at": iso_utc(entry.effective_at),
        "recorded_at": iso_utc(entry.recorded_at),
        "memo": entry.memo,
        "metadata": entry.metadata,
        "actor": entry.actor_id,
        "reverses": entry.reverses_id,
        "postings": posting_rows,
    }
    return sha256_hex(canonical_json(document))


def chain_hash(prev_hash: str, entry_id: int, body_digest: str) -> str:
    """Link one entry to the chain: SHA-256 of "<previous hash>:<entry id>:<body digest>" (ASCII).

    Kept this simple on purpose: PostgreSQL computes the same value in the insert statement itself
    (``sha256()``), so the chain-head lock is held for one statement rather than a client round trip.
    """
    return sha256_hex(f"{prev_hash}:{entry_id}:{body_digest}".encode("ascii"))


def entry_hash(entry: JournalEntry, postings: Iterable[Posting]) -> str:
    return chain_hash(entry.prev_hash, entry.pk, entry_body_digest(entry, postings))
