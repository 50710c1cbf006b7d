"""Typed refusals of the accounts domain: ``AccountsError`` with an ``AccountsErrorCode`` (``core.errors``)."""

from __future__ import annotations

from core.errors import ErrorCode, ServiceError


class AccountsErrorCode(ErrorCode):
    PERMISSION_DENIED = "permission_denied", 403


class AccountsError(ServiceError):
    code: AccountsErrorCode
