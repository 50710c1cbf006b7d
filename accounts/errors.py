"""Typed errors of the accounts domain. The API maps ``code`` and ``http_status`` (see voucher_service.api.errors)."""

from __future__ import annotations

from enum import StrEnum


class AccountsErrorCode(StrEnum):
    PERMISSION_DENIED = "permission_denied"


HTTP_STATUS = {AccountsErrorCode.PERMISSION_DENIED: 403}


class AccountsError(Exception):
    def __init__(self, code: AccountsErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.http_status = HTTP_STATUS[code]
