"""Typed refusals. Every refusal is raised before anything is written, so a caller can retry or report it.

The API layer maps any exception with ``code`` and ``http_status`` attributes to its error format, so these
classes need not know about DRF.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    LIMIT_EXCEEDED = "ledger_limit_exceeded"
    UNBALANCED_ENTRY = "ledger_unbalanced_entry"
    INVALID_AMOUNT = "ledger_invalid_amount"
    CURRENCY_MISMATCH = "ledger_currency_mismatch"
    INVALID_ENTRY = "ledger_invalid_entry"
    IDEMPOTENCY_CONFLICT = "ledger_idempotency_conflict"
    HOLD_ALREADY_RESOLVED = "ledger_hold_already_resolved"
    HOLD_EXPIRED = "ledger_hold_expired"
    ALREADY_REVERSED = "ledger_already_reversed"


class LedgerError(Exception):
    """Base class: ``code`` is stable and machine-readable, ``http_status`` what an API should answer."""

    code: str = "ledger_error"
    http_status: int = 400

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class LimitExceeded(LedgerError):
    code = ErrorCode.LIMIT_EXCEEDED
    http_status = 409


class UnbalancedEntry(LedgerError):
    code = ErrorCode.UNBALANCED_ENTRY
    http_status = 422


class InvalidAmount(LedgerError):
    code = ErrorCode.INVALID_AMOUNT
    http_status = 422


class CurrencyMismatch(LedgerError):
    code = ErrorCode.CURRENCY_MISMATCH
    http_status = 422


class InvalidEntry(LedgerError):
    """Malformed request: too few lines, an account twice, an unknown account, floats in metadata…"""

    code = ErrorCode.INVALID_ENTRY
    http_status = 422


class IdempotencyConflict(LedgerError):
    code = ErrorCode.IDEMPOTENCY_CONFLICT
    http_status = 409


class HoldAlreadyResolved(LedgerError):
    code = ErrorCode.HOLD_ALREADY_RESOLVED
    http_status = 409


class HoldExpired(LedgerError):
    code = ErrorCode.HOLD_EXPIRED
    http_status = 409


class AlreadyReversed(LedgerError):
    code = ErrorCode.ALREADY_REVERSED
    http_status = 409


# The refusals both posting paths raise (the portable Python one and PostgreSQL's ``ledger_post_entry``), worded
# once so the two cannot drift apart.


def idempotency_conflict(idempotency_key: str) -> IdempotencyConflict:
    return IdempotencyConflict(
        f"Idempotency key {idempotency_key!r} was already used for a different request.",
        idempotency_key=idempotency_key,
    )


def unknown_accounts(account_ids: Iterable[int]) -> InvalidEntry:
    return InvalidEntry(f"Unknown account(s): {sorted(account_ids)}.")


def currency_mismatch(account_code: str, account_currency: str, requested: str) -> CurrencyMismatch:
    return CurrencyMismatch(
        f"Account {account_code} is in {account_currency}, the request in {requested}.", account=account_code
    )


def already_reversed(entry_id: int | None) -> AlreadyReversed:
    return AlreadyReversed(f"Entry #{entry_id} has already been reversed.")


def limit_exceeded(account_code: str, side: str) -> LimitExceeded:
    """``side`` is "debits" (debits would exceed credits) or "credits" (credits would exceed debits)."""
    other = "credits" if side == "debits" else "debits"
    return LimitExceeded(f"Account {account_code}: {side} would exceed {other}.", account=account_code)
