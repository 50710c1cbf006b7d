"""Celery tasks of the project's own plumbing (the domains have theirs). Thin and idempotent."""

from __future__ import annotations

from celery import shared_task

from voucher_service.api.idempotency import idempotency_records_purge


@shared_task(name="api.purge_idempotency_records", acks_late=True)
def purge_idempotency_records() -> int:
    """Drop Idempotency-Key records past their retention period; re-running it finds nothing more to drop."""
    return idempotency_records_purge()
