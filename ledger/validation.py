"""Ledger requests, validated and fingerprinted in memory before any lock is taken or any row written.

Everything here raises a ``LedgerError`` for a malformed request, so ``services`` can refuse it without a trace.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.utils import timezone

from ledger import errors
from ledger.errors import LedgerError, LedgerErrorCode
from ledger.hashing import canonical_json, iso_utc, sha256_hex
from ledger.models import Account, Direction
from ledger.money import MAX_FEN

# (account or account id, "debit" | "credit", amount in fen)
LineInput = tuple[Account | int, str, int]


@dataclass(frozen=True)
class Line:
    account_id: int
    direction: Direction
    amount: int


@dataclass
class EntryDraft:
    """Everything needed to write one entry, validated and fingerprinted before any lock is taken."""

    idempotency_key: str
    fingerprint: str
    lines: list[Line]
    currency: str
    memo: str
    metadata: dict[str, Any]
    actor_id: int | None
    effective_at: datetime | None
    reverses_id: int | None = None
    # Pending amounts a hold releases in the same change: account id -> (pending debits, pending credits).
    pending_release: dict[int, tuple[int, int]] = field(default_factory=dict)


def actor_pk(actor: Any) -> int | None:
    # None, or an actor without a row (the system acting for itself), records no user.
    pk = getattr(actor, "pk", None)
    return None if pk is None else int(pk)


def account_pk(account: Account | int) -> int:
    return account.pk if isinstance(account, Account) else int(account)


def check_amount(amount: Any) -> None:
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise LedgerError(LedgerErrorCode.INVALID_AMOUNT, f"Amounts are integer fen, got {type(amount).__name__}.")
    if amount <= 0:
        raise LedgerError(LedgerErrorCode.INVALID_AMOUNT, f"Amounts must be positive, got {amount}.", amount=amount)
    if amount > MAX_FEN:
        # Keeps every sum far inside PostgreSQL's bigint, so an overflow can never surface as a database error.
        raise LedgerError(
            LedgerErrorCode.INVALID_AMOUNT, f"Amounts are at most {MAX_FEN} fen, got {amount}.", amount=amount
        )


def normalise_lines(lines: Sequence[LineInput]) -> list[Line]:
    if len(lines) < 2:
        raise errors.invalid_entry("An entry needs at least two lines.")
    normalised = []
    for account, direction, amount in lines:
        if direction not in Direction.values:
            raise errors.invalid_entry(f"Unknown direction {direction!r}.")
        check_amount(amount)
        normalised.append(Line(account_pk(account), Direction(direction), amount))
    account_ids = [line.account_id for line in normalised]
    if len(set(account_ids)) != len(account_ids):
        # One posting per account per entry keeps "the account's version after this posting" unambiguous.
        raise errors.invalid_entry("An account may appear only once in an entry.")
    debits = sum(line.amount for line in normalised if line.direction == Direction.DEBIT)
    credits = sum(line.amount for line in normalised if line.direction == Direction.CREDIT)
    if debits != credits:
        raise LedgerError(
            LedgerErrorCode.UNBALANCED_ENTRY, f"Debits {debits} ≠ credits {credits}.", debits=debits, credits=credits
        )
    return sorted(normalised, key=lambda line: line.account_id)


def checked_metadata(metadata: dict[str, Any] | None) -> dict[str, Any]:
    metadata = {} if metadata is None else metadata
    if not isinstance(metadata, dict):
        raise errors.invalid_entry("Metadata must be a JSON object.")
    refuse_floats(metadata)
    return metadata


def refuse_floats(value: Any) -> None:
    # A float would not survive the JSON round trip bit for bit, and so would break the hash chain.
    if isinstance(value, float):
        raise errors.invalid_entry("Metadata may not contain floats; use strings or integer fen.")
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise errors.invalid_entry("Metadata keys must be strings.")
            refuse_floats(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            refuse_floats(item)


def request_fingerprint(operation: str, **request: Any) -> str:
    return sha256_hex(canonical_json({"operation": operation, **request}))


def draft_entry(
    *,
    idempotency_key: str,
    lines: list[Line],
    currency: str,
    memo: str,
    metadata: dict[str, Any] | None,
    actor_id: int | None,
    effective_at: datetime | None,
    reverses_id: int | None = None,
) -> EntryDraft:
    if not idempotency_key:
        raise errors.invalid_entry("An idempotency key is required.")
    memo = str(memo)  # a lazy translation is fine as a memo; it is stored (and hashed) as text
    if effective_at is not None and timezone.is_naive(effective_at):
        raise errors.invalid_entry("effective_at must be timezone-aware.")
    metadata = checked_metadata(metadata)
    fingerprint = request_fingerprint(
        "entry",
        lines=[[line.account_id, str(line.direction), line.amount] for line in lines],
        currency=currency,
        memo=memo,
        metadata=metadata,
        actor=actor_id,
        effective_at=iso_utc(effective_at) if effective_at else None,
        reverses=reverses_id,
    )
    return EntryDraft(
        idempotency_key=idempotency_key,
        fingerprint=fingerprint,
        lines=lines,
        currency=currency,
        memo=memo,
        metadata=metadata,
        actor_id=actor_id,
        effective_at=effective_at,
        reverses_id=reverses_id,
    )
