"""Typed refusals of the claims domain: ``ClaimError`` with a ``ClaimErrorCode`` (``core.errors``)."""

from __future__ import annotations

from typing import Any

from core.errors import ErrorCode, ServiceError, field_error


class ClaimErrorCode(ErrorCode):
    INVALID = "invalid", 400  # bad input: per-field messages, like any validation error
    PERMISSION_DENIED = "permission_denied", 403
    SEPARATION_OF_DUTIES = "separation_of_duties", 403
    ENTITY_BARRED = "entity_barred", 403
    INVALID_STATE = "claim_invalid_state", 409
    NOT_EDITABLE = "claim_not_editable", 409
    ALREADY_DECIDED = "claim_stage_already_decided", 409
    DUPLICATE_ORDER = "platform_order_conflict", 409


class ClaimError(ServiceError):
    code: ClaimErrorCode


def invalid(field: str, code: str, message: Any) -> ClaimError:
    """A 400 naming one field (for checks only the service can make: an amount over what a stage may approve)."""
    return ClaimError(ClaimErrorCode.INVALID, message, fields=field_error(field, code, message))
