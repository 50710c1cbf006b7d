"""One error model for every package: a code enum per domain whose members carry their HTTP status, and one
exception base.

A domain declares both once::

    class VoucherErrorCode(ErrorCode):
        NOT_ELIGIBLE = "not_eligible", 400
        INVALID_STATE = "invalid_state", 409

    class VoucherError(ServiceError):
        code: VoucherErrorCode

and raises ``VoucherError(VoucherErrorCode.INVALID_STATE, _("…"), fields=field_error("amount", "max_value", _("…")),
**details)``. The API's exception handler (``voucher_service.api.errors``) reads nothing but ``ServiceError``: it
answers ``code.http_status`` with ``{"error": {"status", "code", "message", "fields"?, **details}}``.

A refusal is raised before anything is written, so a caller may retry it or report it.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

FieldErrors = dict[str, list[dict[str, str]]]


class ErrorCode(StrEnum):
    """Base of every domain's code enum. A member is written ``NAME = "code", http_status``; its value is the code
    (a ``str``, so ``code == "not_eligible"`` holds) and ``member.http_status`` what an API answers."""

    http_status: int

    def __new__(cls, code: str, http_status: int) -> ErrorCode:
        member = str.__new__(cls, code)
        member._value_ = code
        member.http_status = http_status
        return member


class ServiceError(Exception):
    """A typed refusal: a stable ``code`` (an ``ErrorCode``), a message for people (translated, possibly lazy),
    per-field messages (``fields``, see ``field_error``) and other keyword ``details`` the API answers along."""

    def __init__(self, code: ErrorCode, message: Any, *, fields: FieldErrors | None = None, **details: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.fields = fields
        self.details = details

    @property
    def http_status(self) -> int:
        return self.code.http_status


def field_error(field: str, code: str, message: Any) -> FieldErrors:
    """``fields`` for a refusal about one field: ``{field: [{"code": code, "message": message}]}``."""
    return {field: [{"code": code, "message": str(message)}]}
