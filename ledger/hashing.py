"""Canonical serialisation and SHA-256 of journal entries: the hash chain an auditor can recompute.

Two levels. The **body digest**, stored on the entry when it is posted, covers the entry and its postings
(including each account version and balance-after, so a rewritten balance history breaks it too). The
**chain link**, appended by the sealer, covers the previous link's hash, the link's position and that digest:
``hash = SHA-256("<prev_hash>:<position>:<body digest>")``. Changing any entry or posting breaks its digest;
changing a digest breaks its link and every link after it.
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
    """SHA-256 of everything in the entry except its id and its place in the chain (written at insert)."""
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


def chain_hash(prev_hash: str, position: int, body_digest: str) -> str:
    """Link one entry to the chain: SHA-256 of "<previous hash>:<position>:<body digest>" (ASCII).

    Kept this simple on purpose, so an auditor can recompute it with any tool (e.g. PostgreSQL's ``sha256()``).
    """
    return sha256_hex(f"{prev_hash}:{position}:{body_digest}".encode("ascii"))
