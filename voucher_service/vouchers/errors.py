"""Typed refusals of the voucher domain: ``VoucherError`` with a ``VoucherErrorCode`` (``core.errors``)."""

from __future__ import annotations

from core.errors import ErrorCode, ServiceError


class VoucherErrorCode(ErrorCode):
    INVALID = "invalid", 400  # bad input: the same code as any validation error, with per-field messages
    PERMISSION_DENIED = "permission_denied", 403
    NOT_ELIGIBLE = "not_eligible", 400
    INVALID_STATE = "invalid_state", 409
    PROGRAM_BUDGET_EXCEEDED = "program_budget_exceeded", 409
    ENTITY_CAP_EXCEEDED = "entity_cap_exceeded", 409
    AWARD_ALREADY_GRANTED = "award_already_granted", 409
    DUPLICATE_FILE = "duplicate_file", 409
    SEPARATION_OF_DUTIES = "separation_of_duties", 403


class VoucherError(ServiceError):
    code: VoucherErrorCode
