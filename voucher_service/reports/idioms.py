"""The project's idioms as this package uses them (``core/``): one durable write per service call, tasks sent on
commit, and this domain's refusal codes with their HTTP statuses."""

from __future__ import annotations

from core.errors import ErrorCode, ServiceError
from core.transactions import enqueue_on_commit, service_write

__all__ = ["ReportError", "ReportErrorCode", "enqueue_on_commit", "service_write"]


class ReportErrorCode(ErrorCode):
    INVALID = "invalid", 400
    PERMISSION_DENIED = "permission_denied", 403
    NOT_FOUND = "not_found", 404
    EXPORT_TOO_LARGE = "export_too_large", 400
    EXPORT_NOT_READY = "export_not_ready", 409
    EXPORT_EXPIRED = "export_expired", 410
    INVALID_STATE = "invalid_state", 409


class ReportError(ServiceError):
    code: ReportErrorCode
