"""Ledger requests, validated and fingerprinted in memory before any lock is taken or any row written.

Everything here raises a ``LedgerError`` for a malformed request, so ``services`` can refuse it without a trace.
What is refused is exactly what either database could not store as given (a NUL character, a key longer than
its column, an account id beyond bigint, a value JSON cannot carry bit for bit): checked here, SQLite and
PostgreSQL refuse the same requests with the same words, and neither answers with a database error.
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

# The length of the idempotency_key columns (JournalEntry, Hold); PostgreSQL counts characters, as len() does.
IDEMPOTENCY_KEY_MAX_LENGTH = 255
BIGINT_MAX = 2**63 - 1  # account ids, and integers in metadata
# The directions by value, built once: ``Direction.values`` builds a new list on every access (Django's choices
# metaclass), and ``Direction(value)`` is an enum lookup; both ran for every line of every entry.
DIRECTIONS = {direction.value: direction for direction in Direction}


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
    """The id of a saved account, or an account id (an int within bigint: a larger one is unknown anyway)."""
    pk = account.pk if isinstance(account, Account) else account
    if isinstance(pk, bool) or not isinstance(pk, int) or not 0 < pk <= BIGINT_MAX:
        raise errors.invalid_entry(f"An account is a saved Account or a positive account id, got {account!r}.")
    return pk


def check_text(value: str, what: str) -> None:
    """PostgreSQL stores neither a NUL character nor a lone surrogate (text that is not UTF-8), in a text column
    or in jsonb; SQLite would store both. Refused on both, before anything is written."""
    if "\x00" in value:
        raise errors.invalid_entry(f"{what} may not contain NUL characters.")
    try:
        value.encode()
    except UnicodeEncodeError:
        raise errors.invalid_entry(f"{what} must be valid Unicode text (it contains a lone surrogate).") from None


def check_idempotency_key(key: Any) -> str:
    if not isinstance(key, str) or not key:
        raise errors.invalid_entry("An idempotency key is required.")
    if len(key) > IDEMPOTENCY_KEY_MAX_LENGTH:
        raise errors.invalid_entry(
            f"An idempotency key has at most {IDEMPOTENCY_KEY_MAX_LENGTH} characters, got {len(key)}."
        )
    check_text(key, "An idempotency key")
    return key


def checked_memo(memo: Any) -> str:
    memo = str(memo)  # a lazy translation is fine as a memo; it is stored (and hashed) as text
    check_text(memo, "A memo")
    return memo


def check_aware(moment: Any, what: str) -> None:
    if not isinstance(moment, datetime) or timezone.is_naive(moment):
        raise errors.invalid_entry(f"{what} must be a timezone-aware datetime.")


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
    if not isinstance(lines, (list, tuple)):
        raise errors.invalid_entry(f"Lines are a list of (account, direction, amount), not {type(lines).__name__}.")
    if len(lines) < 2:
        raise errors.invalid_entry("An entry needs at least two lines.")
    normalised = []
    for line in lines:
        if not isinstance(line, (list, tuple)) or len(line) != 3:
            raise errors.invalid_entry(f"A line is (account, direction, amount), got {line!r}.")
        account, direction, amount = line
        if not isinstance(direction, str) or direction not in DIRECTIONS:
            raise errors.invalid_entry(f"Unknown direction {direction!r}.")
        check_amount(amount)
        normalised.append(Line(account_pk(account), DIRECTIONS[direction], amount))
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
    check_json_value(metadata)
    return metadata


def check_json_value(value: Any) -> None:
    """Metadata is hashed as JSON and stored as jsonb, so it must survive that round trip bit for bit: strings,
    integers within 64 bits, booleans, null, lists and objects with string keys. A float would not (and so would
    break the hash chain); a Decimal or a date would not serialise at all."""
    if isinstance(value, float):
        raise errors.invalid_entry("Metadata may not contain floats; use strings or integer fen.")
    if isinstance(value, int):  # and so bool
        if abs(value) > BIGINT_MAX:
            raise errors.invalid_entry(f"Metadata integers fit in 64 bits, got {value}.")
    elif isinstance(value, str):
        check_text(value, "Metadata")
    elif isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise errors.invalid_entry("Metadata keys must be strings.")
            check_text(key, "A metadata key")
            check_json_value(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            check_json_value(item)
    elif value is not None:
        raise errors.invalid_entry(
            f"Metadata holds strings, integers, booleans, null, lists and objects, not {type(value).__name__}."
        )


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
    check_idempotency_key(idempotency_key)
    memo = checked_memo(memo)
    if effective_at is not None:
        check_aware(effective_at, "effective_at")
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
