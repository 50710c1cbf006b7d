"""Typed refusals of the programs domain: ``ProgramError`` with a ``ProgramErrorCode`` (``core.errors``)."""

from __future__ import annotations

from core.errors import ErrorCode, ServiceError


class ProgramErrorCode(ErrorCode):
    PERMISSION_DENIED = "permission_denied", 403
    INVALID_TRANSITION = "program_invalid_transition", 409
    # Why a program cannot issue vouchers on a given day (programs.selectors.program_issuance_refusal).
    PROGRAM_DRAFT = "program_draft", 409
    PROGRAM_SUSPENDED = "program_suspended", 409
    PROGRAM_EXPIRED = "program_expired", 409
    PROGRAM_NOT_IN_FORCE = "program_not_in_force", 409
    BUDGET_NOT_OPEN = "budget_not_open", 409
    CAP_BELOW_COMMITTED = "cap_below_committed", 409


class ProgramError(ServiceError):
    code: ProgramErrorCode
