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

# What ``json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`` builds on every call (it
# caches an encoder only for its default options): built once, since every posted entry encodes eight values.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_json(value: Any) -> bytes:
    """Deterministic JSON: sorted keys, no whitespace, UTF-8. Floats never get here (refused on input)."""
    return _CANONICAL.encode(value).encode()


def iso_utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def sha256_hex(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


def entry_document_parts(
    *,
    idempotency_key: str,
    request_fingerprint: str,
    currency: str,
    memo: str,
    metadata: dict[str, Any],
    actor_id: int | None,
    reverses_id: int | None,
) -> tuple[str, str, str]:
    """The canonical document of an entry, cut around what is known only once its balance rows are locked.

    The document is ``canonical_json`` of an object with the keys (sorted) actor, currency, effective_at,
    idempotency_key, memo, metadata, postings, recorded_at, request_fingerprint, reverses. The three parts
    returned go before ``effective_at``'s value, before ``postings``' value, and after ``recorded_at``'s value;
    ``entry_document`` joins them here, and the PostgreSQL posting function (migration 0004) joins the same
    parts with the values it computes, so both produce the same bytes.
    """
    head = f'{{"actor":{_json(actor_id)},"currency":{_json(currency)},"effective_at":'
    middle = (
        f',"idempotency_key":{_json(idempotency_key)},"memo":{_json(memo)},"metadata":{_json(metadata)},"postings":'
    )
    tail = f',"request_fingerprint":{_json(request_fingerprint)},"reverses":{_json(reverses_id)}}}'
    return head, middle, tail


def entry_document(entry: JournalEntry, postings: Iterable[Posting]) -> str:
    """Everything in the entry except its id and its place in the chain, as canonical JSON text."""
    head, middle, tail = entry_document_parts(
        idempotency_key=entry.idempotency_key,
        request_fingerprint=entry.request_fingerprint,
        currency=entry.currency,
        memo=entry.memo,
        metadata=entry.metadata,
        actor_id=entry.actor_id,
        reverses_id=entry.reverses_id,
    )
    posting_rows = sorted(
        [p.account_id, str(p.direction), p.amount, p.account_version, p.balance_after, iso_utc(p.recorded_at)]
        for p in postings
    )
    return (
        f"{head}{_json(iso_utc(entry.effective_at))}{middle}{_json(posting_rows)}"
        f',"recorded_at":{_json(iso_utc(entry.recorded_at))}{tail}'
    )


def entry_body_digest(entry: JournalEntry, postings: Iterable[Posting]) -> str:
    """SHA-256 of ``entry_document``: stored on the entry when it is posted."""
    return sha256_hex(entry_document(entry, postings).encode())


def _json(value: Any) -> str:
    # Many values of an entry's document are None or integers: the encoder's text for them, without its generic
    # walk (strings take the encoder's own fast path; ``test_hashing`` checks all of them against ``json.dumps``).
    if value is None:
        return "null"
    if type(value) is int:  # not bool, which is an int too
        return str(value)
    return _CANONICAL.encode(value)


def chain_hash(prev_hash: str, position: int, body_digest: str) -> str:
    """Link one entry to the chain: SHA-256 of "<previous hash>:<position>:<body digest>" (ASCII).

    Kept this simple on purpose, so an auditor can recompute it with any tool (e.g. PostgreSQL's ``sha256()``).
    """
    return sha256_hex(f"{prev_hash}:{position}:{body_digest}".encode("ascii"))
