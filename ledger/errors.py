"""The ledger's typed refusals: one ``LedgerError`` whose ``code`` is a ``LedgerErrorCode`` (``core.errors``).

Every refusal is raised before anything is written, so a caller can retry or report it. ``details`` name what
was refused (the account, the hold, the key) for callers and logs. The refusals both posting paths raise (the
portable Python one and PostgreSQL's ``ledger_post_entry``) are made by the functions below, worded once so the
two cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Iterable

from core.errors import ErrorCode, ServiceError


class LedgerErrorCode(ErrorCode):
    LIMIT_EXCEEDED = "ledger_limit_exceeded", 409
    UNBALANCED_ENTRY = "ledger_unbalanced_entry", 422
    INVALID_AMOUNT = "ledger_invalid_amount", 422
    CURRENCY_MISMATCH = "ledger_currency_mismatch", 422
    # A malformed request: too few lines, an account twice, an unknown account, floats in metadata…
    INVALID_ENTRY = "ledger_invalid_entry", 422
    IDEMPOTENCY_CONFLICT = "ledger_idempotency_conflict", 409
    HOLD_ALREADY_RESOLVED = "ledger_hold_already_resolved", 409
    HOLD_EXPIRED = "ledger_hold_expired", 409
    ALREADY_REVERSED = "ledger_already_reversed", 409


class LedgerError(ServiceError):
    code: LedgerErrorCode


def invalid_entry(message: str) -> LedgerError:
    return LedgerError(LedgerErrorCode.INVALID_ENTRY, message)


def idempotency_conflict(idempotency_key: str) -> LedgerError:
    return LedgerError(
        LedgerErrorCode.IDEMPOTENCY_CONFLICT,
        f"Idempotency key {idempotency_key!r} was already used for a different request.",
        idempotency_key=idempotency_key,
    )


def unknown_accounts(account_ids: Iterable[int]) -> LedgerError:
    return invalid_entry(f"Unknown account(s): {sorted(account_ids)}.")


def currency_mismatch(account_code: str, account_currency: str, requested: str) -> LedgerError:
    return LedgerError(
        LedgerErrorCode.CURRENCY_MISMATCH,
        f"Account {account_code} is in {account_currency}, the request in {requested}.",
        account=account_code,
    )


def already_reversed(entry_id: int | None) -> LedgerError:
    return LedgerError(LedgerErrorCode.ALREADY_REVERSED, f"Entry #{entry_id} has already been reversed.")


def limit_exceeded(account_code: str, side: str) -> LedgerError:
    """``side`` is "debits" (debits would exceed credits) or "credits" (credits would exceed debits)."""
    other = "credits" if side == "debits" else "debits"
    return LedgerError(
        LedgerErrorCode.LIMIT_EXCEEDED, f"Account {account_code}: {side} would exceed {other}.", account=account_code
    )
