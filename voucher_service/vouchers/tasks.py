"""Celery tasks of the voucher domain: thin wrappers that take ids and call services. All are idempotent."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from accounts.audit import SYSTEM
from voucher_service.vouchers import bulk, selectors, services


@shared_task(
    name="vouchers.issue_voucher", acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5
)
def issue_voucher(issuance_id: int) -> str:
    return services.issuance_execute(issuance_id=issuance_id).status


@shared_task(
    name="vouchers.run_bulk_issuance",
    acks_late=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
)
def run_bulk_issuance(bulk_id: int) -> str:
    return bulk.bulk_issuance_run(bulk_id=bulk_id).status


@shared_task(name="vouchers.expire_vouchers", acks_late=True)
def expire_vouchers() -> int:
    return services.vouchers_expire_due(actor=SYSTEM)


@shared_task(name="vouchers.requeue_stalled", acks_late=True)
def requeue_stalled() -> dict[str, int]:
    """Re-send issuance and bulk tasks that never ran (e.g. the broker was down at commit time)."""
    issuance_ids, bulk_ids = selectors.work_stalled()
    for issuance_id in issuance_ids:
        issue_voucher.delay(issuance_id)
    for bulk_id in bulk_ids:
        run_bulk_issuance.delay(bulk_id)
    return {"issuances": len(issuance_ids), "bulks": len(bulk_ids)}
