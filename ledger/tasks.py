"""Periodic ledger jobs. Thin: the work lives in services and verification; both tasks are idempotent."""

from __future__ import annotations

from celery import shared_task

from ledger.sealing import seal_pending
from ledger.services import holds_expire_due
from ledger.verification import verification_run_record


@shared_task(name="ledger.expire_holds", acks_late=True)
def expire_holds(hold_ids: list[int] | None = None) -> int:
    """Release pending holds past their expiry; re-running it finds nothing left to do."""
    return holds_expire_due(hold_ids=hold_ids)


@shared_task(name="ledger.verify", acks_late=True)
def verify_ledger_task() -> dict[str, object]:
    run = verification_run_record()
    return {"run": run.pk, "ok": run.ok, "head_hash": run.head_hash}


@shared_task(name="ledger.seal", acks_late=True, ignore_result=True)
def seal_ledger_task() -> int:
    """Append committed entries to the hash chain; a no-op when everything is sealed."""
    return seal_pending()
