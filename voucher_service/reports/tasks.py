"""Report tasks: thin, they take ids, are idempotent and acknowledged late."""

from __future__ import annotations

from celery import shared_task

from voucher_service.reports import services


@shared_task(name="reports.export", acks_late=True)
def export_run(job_id: int) -> str | None:
    job = services.export_job_run(job_id)
    return None if job is None else job.status


@shared_task(name="reports.verify", acks_late=True)
def verification_run(request_id: int) -> str | None:
    request = services.verification_execute(request_id)
    return None if request is None else request.status


@shared_task(name="reports.purge_exports", acks_late=True)
def purge_exports() -> int:
    return services.exports_purge_expired()
