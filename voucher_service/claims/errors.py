"""Typed refusals of the claims domain, and the domain's one error class.

Every refusal in ``claims`` is a ``ClaimError`` with a ``ClaimErrorCode``; the API maps ``code`` and
``http_status`` (voucher_service.api.errors). Kept behind this one class so the project-wide error idiom
(issue 11) replaces it in one place.
"""

from __future__ import annotations

from enum import StrEnum

from voucher_service.errors import DomainError


class ClaimErrorCode(StrEnum):
    INVALID = "invalid"  # bad input: per-field messages, like any validation error
    PERMISSION_DENIED = "permission_denied"
    SEPARATION_OF_DUTIES = "separation_of_duties"
    INVALID_STATE = "claim_invalid_state"
    NOT_EDITABLE = "claim_not_editable"
    ALREADY_DECIDED = "claim_stage_already_decided"
    DUPLICATE_ORDER = "platform_order_conflict"
    ENTITY_BARRED = "entity_barred"


HTTP_STATUS = {
    ClaimErrorCode.INVALID: 400,
    ClaimErrorCode.PERMISSION_DENIED: 403,
    ClaimErrorCode.SEPARATION_OF_DUTIES: 403,
    ClaimErrorCode.INVALID_STATE: 409,
    ClaimErrorCode.NOT_EDITABLE: 409,
    ClaimErrorCode.ALREADY_DECIDED: 409,
    ClaimErrorCode.DUPLICATE_ORDER: 409,
    ClaimErrorCode.ENTITY_BARRED: 403,
}


class ClaimError(DomainError):
    http_statuses = HTTP_STATUS


def invalid(field: str, code: str, message: str) -> ClaimError:
    """A 400 naming one field (for checks only the service can make: an amount over what a stage may approve)."""
    return ClaimError(ClaimErrorCode.INVALID, message, fields={field: [{"code": code, "message": message}]})
