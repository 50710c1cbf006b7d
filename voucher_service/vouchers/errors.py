"""Typed refusals of the voucher domain. The API maps ``code`` and ``http_status`` (voucher_service.api.errors)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class VoucherErrorCode(StrEnum):
    PERMISSION_DENIED = "permission_denied"
    NOT_ELIGIBLE = "not_eligible"
    INVALID_STATE = "invalid_state"
    PROGRAM_BUDGET_EXCEEDED = "program_budget_exceeded"
    ENTITY_CAP_EXCEEDED = "entity_cap_exceeded"
    AWARD_ALREADY_GRANTED = "award_already_granted"
    SEPARATION_OF_DUTIES = "separation_of_duties"


HTTP_STATUS = {
    VoucherErrorCode.PERMISSION_DENIED: 403,
    VoucherErrorCode.NOT_ELIGIBLE: 400,
    VoucherErrorCode.INVALID_STATE: 409,
    VoucherErrorCode.PROGRAM_BUDGET_EXCEEDED: 409,
    VoucherErrorCode.ENTITY_CAP_EXCEEDED: 409,
    VoucherErrorCode.AWARD_ALREADY_GRANTED: 409,
    VoucherErrorCode.SEPARATION_OF_DUTIES: 403,
}


class VoucherError(Exception):
    def __init__(self, code: VoucherErrorCode, message: Any, **extra: Any) -> None:
        super().__init__(message)
        self.code = code
        self.http_status = HTTP_STATUS[code]
        # Per-field errors render under "fields" like any validation error; the rest (e.g. "checks") beside it.
        self.fields = extra.pop("fields", None)
        self.extra = extra
