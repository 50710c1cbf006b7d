"""The project's idioms as this package uses them, each behind one helper, so that adopting a shared version later
(a ``core`` package with ``service_write``, ``enqueue_on_commit`` and one error model) changes only this file.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Any, ParamSpec, TypeVar

from django.db import transaction

from ledger.concurrency import retry_on_db_conflict
from voucher_service.errors import DomainError

P = ParamSpec("P")
R = TypeVar("R")


def service_write(func: Callable[P, R]) -> Callable[P, R]:
    """A write of this package: one durable transaction (joined when the caller has one), retried on conflicts."""
    return retry_on_db_conflict(func)


def enqueue_on_commit(task: Any, *ids: int) -> None:
    """Send ``task(*ids)`` once the current transaction commits; a broker outage never fails the committed write
    (the beat sweeper finds work whose task was lost)."""
    transaction.on_commit(lambda: task.delay(*ids), robust=True)


class ReportErrorCode(StrEnum):
    INVALID = "invalid"
    PERMISSION_DENIED = "permission_denied"
    NOT_FOUND = "not_found"
    EXPORT_TOO_LARGE = "export_too_large"
    EXPORT_NOT_READY = "export_not_ready"
    EXPORT_EXPIRED = "export_expired"
    INVALID_STATE = "invalid_state"


class ReportError(DomainError):
    http_statuses = {
        ReportErrorCode.INVALID: 400,
        ReportErrorCode.PERMISSION_DENIED: 403,
        ReportErrorCode.NOT_FOUND: 404,
        ReportErrorCode.EXPORT_TOO_LARGE: 400,
        ReportErrorCode.EXPORT_NOT_READY: 409,
        ReportErrorCode.EXPORT_EXPIRED: 410,
        ReportErrorCode.INVALID_STATE: 409,
    }
