"""Celery tasks of the claims domain: thin wrappers that take ids and call services. All are idempotent."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from voucher_service.claims import evaluation, notice, payout, services


@shared_task(
    name="claims.evaluate_claim", acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5
)
def evaluate_claim(claim_id: int) -> str:
    evaluation.claim_mark_evaluating(claim_id=claim_id)
    return evaluation.claim_evaluate(claim_id=claim_id).status


@shared_task(
    name="claims.execute_payout", acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5
)
def execute_payout(payout_id: int) -> str:
    return payout.payout_execute(payout_id=payout_id).status


@shared_task(name="claims.close_notices", acks_late=True)
def close_notices() -> int:
    """Claims whose public notice ended with no open objection become payable; re-running finds nothing new."""
    return notice.notices_close()


@shared_task(name="claims.requeue_stalled", acks_late=True)
def requeue_stalled() -> dict[str, int]:
    """Re-send evaluations and payouts whose task never ran (e.g. the broker was down at commit time)."""
    claim_ids, payout_ids = services.stalled_work()
    for claim_id in claim_ids:
        evaluate_claim.delay(claim_id)
    for payout_id in payout_ids:
        execute_payout.delay(payout_id)
    return {"evaluations": len(claim_ids), "payouts": len(payout_ids)}
