"""The base of the voucher domain's typed refusals (programs, vouchers, claims…).

Each domain has one error-code enum and a table of HTTP statuses; the API renders any such error through
``voucher_service.api.errors`` as ``{"error": {"status", "code", "message", "fields"?, …extra}}``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, ClassVar


class DomainError(Exception):
    """A refusal with a stable ``code``. ``fields`` (per-field messages) and other keyword details travel along."""

    http_statuses: ClassVar[dict[Any, int]] = {}

    def __init__(self, code: StrEnum, message: Any, **extra: Any) -> None:
        super().__init__(message)
        self.code = code
        self.http_status = self.http_statuses[code]
        self.fields: dict[str, list[dict[str, str]]] | None = extra.pop("fields", None)
        self.extra = extra
