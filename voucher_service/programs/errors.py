"""Typed refusals of the programs domain. The API maps ``code`` and ``http_status`` (voucher_service.api.errors)."""

from __future__ import annotations

from enum import StrEnum

from voucher_service.errors import DomainError


class ProgramErrorCode(StrEnum):
    PERMISSION_DENIED = "permission_denied"
    INVALID_TRANSITION = "program_invalid_transition"
    # Why a program cannot issue vouchers on a given day (program_ensure_can_issue).
    PROGRAM_DRAFT = "program_draft"
    PROGRAM_SUSPENDED = "program_suspended"
    PROGRAM_EXPIRED = "program_expired"
    PROGRAM_NOT_IN_FORCE = "program_not_in_force"
    BUDGET_NOT_OPEN = "budget_not_open"
    CAP_BELOW_COMMITTED = "cap_below_committed"


HTTP_STATUS = {
    ProgramErrorCode.PERMISSION_DENIED: 403,
    ProgramErrorCode.INVALID_TRANSITION: 409,
    ProgramErrorCode.PROGRAM_DRAFT: 409,
    ProgramErrorCode.PROGRAM_SUSPENDED: 409,
    ProgramErrorCode.PROGRAM_EXPIRED: 409,
    ProgramErrorCode.PROGRAM_NOT_IN_FORCE: 409,
    ProgramErrorCode.BUDGET_NOT_OPEN: 409,
    ProgramErrorCode.CAP_BELOW_COMMITTED: 409,
}


class ProgramError(DomainError):
    http_statuses = HTTP_STATUS


class ProgramNotIssuable(ProgramError):
    """The program cannot issue vouchers on the day asked (draft, suspended, expired, outside its window)."""
