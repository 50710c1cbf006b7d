"""Typed refusals of the notifications domain (``core.errors``)."""

from __future__ import annotations

from core.errors import ErrorCode, ServiceError


class NotificationErrorCode(ErrorCode):
    INVALID = "invalid", 400
    NOT_FOUND = "not_found", 404


class NotificationError(ServiceError):
    code: NotificationErrorCode
