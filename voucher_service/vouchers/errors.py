"""Typed refusals of the voucher domain. The API maps ``code`` and ``http_status`` (voucher_service.api.errors)."""

from __future__ import annotations

from enum import StrEnum

from voucher_service.errors import DomainError


class VoucherErrorCode(StrEnum):
    INVALID = "invalid"  # bad input: the same code as any validation error, with per-field messages
    PERMISSION_DENIED = "permission_denied"
    NOT_ELIGIBLE = "not_eligible"
    INVALID_STATE = "invalid_state"
    PROGRAM_BUDGET_EXCEEDED = "program_budget_exceeded"
    ENTITY_CAP_EXCEEDED = "entity_cap_exceeded"
    AWARD_ALREADY_GRANTED = "award_already_granted"
    DUPLICATE_FILE = "duplicate_file"
    SEPARATION_OF_DUTIES = "separation_of_duties"


HTTP_STATUS = {
    VoucherErrorCode.INVALID: 400,
    VoucherErrorCode.PERMISSION_DENIED: 403,
    VoucherErrorCode.NOT_ELIGIBLE: 400,
    VoucherErrorCode.INVALID_STATE: 409,
    VoucherErrorCode.PROGRAM_BUDGET_EXCEEDED: 409,
    VoucherErrorCode.ENTITY_CAP_EXCEEDED: 409,
    VoucherErrorCode.AWARD_ALREADY_GRANTED: 409,
    VoucherErrorCode.DUPLICATE_FILE: 409,
    VoucherErrorCode.SEPARATION_OF_DUTIES: 403,
}


class VoucherError(DomainError):
    http_statuses = HTTP_STATUS
