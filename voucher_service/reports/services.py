"""Writes of the reports package: export jobs and reads, verification requests, auditor grants. Each is one
durable transaction (``idioms.service_write``) with its audit event; tasks are enqueued on commit and take ids."""

from __future__ import annotations

import hashlib
import logging
import tempfile
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.audit import audit_record
from accounts.models import Organization, OrganizationKind, Role
from accounts.selectors import audit_firm_auditor, user_has_role
from ledger.verification import verification_run_record
from voucher_service.programs.models import Program
from voucher_service.reports.idioms import ReportError, ReportErrorCode, enqueue_on_commit, service_write
from voucher_service.reports.models import (
    AuditorGrant,
    ExportJob,
    ExportStatus,
    VerificationRequest,
    VerificationStatus,
)

logger = logging.getLogger(__name__)
PROGRESS_WRITE_EVERY = 5000


# --- Exports ---------------------------------------------------------------------------------------------------


@service_write
def export_record_read(
    *, actor: Any, report: str, file_format: str, params: dict[str, Any], as_of: datetime, rows: int
) -> None:
    """An export streamed in the request: who read which report, as of when, with which filters (audited)."""
    audit_record(
        actor=actor,
        action="report.export",
        target=actor,
        detail={
            "report": report,
            "file_format": file_format,
            "params": params,
            "as_of": as_of.isoformat(),
            "rows": rows,
        },
    )


@service_write
def export_job_create(
    *, actor: Any, report: str, file_format: str, params: dict[str, Any], as_of: datetime, total_rows: int
) -> ExportJob:
    """An export too large for a request: a Celery task writes it to storage; progress on the job."""
    from voucher_service.reports.tasks import export_run

    job = ExportJob.objects.create(
        report=report,
        file_format=file_format,
        params=params,
        as_of=as_of,
        language=translation.get_language() or settings.LANGUAGE_CODE,
        requested_by=actor,
        total_rows=total_rows,
    )
    audit_record(
        actor=actor,
        action="report.export_requested",
        target=job,
        after={"report": report, "file_format": file_format, "params": params, "as_of": as_of.isoformat()},
    )
    enqueue_on_commit(export_run, job.pk)
    return job


def export_start(
    *, actor: Any, report: Any, context: Any, file_format: str, params: dict[str, Any]
) -> ExportJob | None:
    """Begin an export of ``report`` as read in ``context`` (``params``: the query as sent, to read it again).

    Over ``REPORTS_EXPORT_MAX_ROWS`` rows it is refused; over ``REPORTS_EXPORT_SYNC_MAX_ROWS`` a background job is
    made and returned; otherwise the read is recorded and None returned: the caller streams the file at once."""
    rows = report.count(context)
    if rows > settings.REPORTS_EXPORT_MAX_ROWS:
        raise ReportError(
            ReportErrorCode.EXPORT_TOO_LARGE,
            _("This export would have %(rows)d rows, more than the %(max)d allowed: narrow the filters.")
            % {"rows": rows, "max": settings.REPORTS_EXPORT_MAX_ROWS},
        )
    stored = {**params, "as_of": context.as_of.isoformat()}
    arguments = {"actor": actor, "report": report.name, "file_format": file_format, "params": stored}
    if rows > settings.REPORTS_EXPORT_SYNC_MAX_ROWS:
        return export_job_create(**arguments, as_of=context.as_of, total_rows=rows)
    export_record_read(**arguments, as_of=context.as_of, rows=rows)
    return None


def _claim_job(job_id: int) -> ExportJob | None:
    @service_write
    def claim() -> ExportJob | None:
        job = ExportJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.status in (ExportStatus.SUCCEEDED, ExportStatus.FAILED, ExportStatus.EXPIRED):
            return None
        job.status, job.started_at, job.rows_written = ExportStatus.RUNNING, timezone.now(), 0
        job.save(update_fields=["status", "started_at", "rows_written"])
        return job

    return claim()


def export_job_run(job_id: int) -> ExportJob | None:
    """Write a queued (or interrupted) export to storage. Idempotent: a finished job is left as it is, and a job
    interrupted half-way is written again from the start (the same ``as_of`` gives the same rows)."""
    from voucher_service.reports.runner import job_context, report_of
    from voucher_service.reports.writers import write_file

    job = _claim_job(job_id)
    if job is None:
        return None

    def progress(rows: int) -> None:
        ExportJob.objects.filter(pk=job.pk).update(rows_written=rows)

    try:
        with translation.override(job.language), tempfile.TemporaryFile() as handle:
            report = report_of(job.report)
            context = job_context(job)
            write_file(report, context, job.file_format, handle, progress)
            handle.seek(0)
            name = default_storage.save(f"reports/exports/{job.pk}/{job.report}.{job.file_format}", File(handle))
            size = default_storage.size(name)
        digest = _sha256_of(name)
    except Exception as exc:
        logger.exception("Export #%s failed", job.pk)
        ExportJob.objects.filter(pk=job.pk).update(
            status=ExportStatus.FAILED, finished_at=timezone.now(), failure_message=str(exc)[:500]
        )
        return ExportJob.objects.get(pk=job.pk)
    now = timezone.now()
    ExportJob.objects.filter(pk=job.pk).update(
        status=ExportStatus.SUCCEEDED,
        file_name=name,
        file_size=size,
        file_sha256=digest,
        finished_at=now,
        expires_at=now + timedelta(hours=settings.REPORTS_EXPORT_TTL_HOURS),
    )
    return ExportJob.objects.get(pk=job.pk)


def _sha256_of(name: str) -> str:
    digest = hashlib.sha256()
    with default_storage.open(name, "rb") as stored:
        for chunk in iter(lambda: stored.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _still_readable(actor: Any, job: ExportJob) -> bool:
    """Whether the requester may still read the report the file holds: a grant that has ended, or an auditor who
    has left the agency, ends the downloads of what was exported before, as it ends the reads."""
    from voucher_service.reports.catalog import ENTITY_REGISTERS
    from voucher_service.reports.runner import PROGRAM_KEY
    from voucher_service.reports.scope import report_scope

    scope = report_scope(actor)
    allowed = scope.reads_registers if job.report in ENTITY_REGISTERS else scope.audits
    program_id = job.params.get(PROGRAM_KEY)
    return allowed and (program_id is None or scope.covers_program(int(program_id)))


@service_write
def export_job_download(*, actor: Any, job: ExportJob) -> File:
    """Open a finished export for its requester while the report is still theirs to read (audited); refused once
    it has expired, and absent once they may no longer read it."""
    locked = ExportJob.objects.select_for_update().get(pk=job.pk)
    if not _still_readable(actor, locked):
        raise ReportError(ReportErrorCode.NOT_FOUND, _("Not found."))
    if locked.status in (ExportStatus.QUEUED, ExportStatus.RUNNING, ExportStatus.FAILED):
        raise ReportError(
            ReportErrorCode.EXPORT_NOT_READY,
            _("This export is %(status)s: there is nothing to download.") % {"status": locked.get_status_display()},
        )
    if locked.status == ExportStatus.EXPIRED or (locked.expires_at and locked.expires_at <= timezone.now()):
        raise ReportError(ReportErrorCode.EXPORT_EXPIRED, _("This export has expired: request it again."))
    audit_record(
        actor=actor,
        action="report.export_download",
        target=locked,
        detail={"report": locked.report, "file_sha256": locked.file_sha256, "file_size": locked.file_size},
    )
    return default_storage.open(locked.file_name, "rb")


def exports_purge_expired(now: datetime | None = None) -> int:
    """Remove the files of exports past their expiry and mark them expired; idempotent (a beat job)."""
    now = now or timezone.now()
    purged = 0
    for job_id in ExportJob.objects.filter(status=ExportStatus.SUCCEEDED, expires_at__lte=now).values_list(
        "pk", flat=True
    ):
        purged += _purge_one(job_id, now)
    return purged


@service_write
def _purge_one(job_id: int, now: datetime) -> int:
    from accounts.audit import SYSTEM

    job = ExportJob.objects.select_for_update().get(pk=job_id)
    if job.status != ExportStatus.SUCCEEDED or job.expires_at is None or job.expires_at > now:
        return 0
    if job.file_name and default_storage.exists(job.file_name):
        default_storage.delete(job.file_name)
    job.status = ExportStatus.EXPIRED
    job.save(update_fields=["status"])
    audit_record(actor=SYSTEM, action="report.export_expired", target=job, detail={"file": job.file_name})
    return 1


# --- Verification over HTTP -------------------------------------------------------------------------------------


@service_write
def verification_request(*, actor: Any) -> VerificationRequest:
    from voucher_service.reports.tasks import verification_run

    request = VerificationRequest.objects.create(requested_by=actor)
    audit_record(actor=actor, action="ledger.verification_requested", target=request)
    enqueue_on_commit(verification_run, request.pk)
    return request


def verification_execute(request_id: int) -> VerificationRequest | None:
    """Run the ledger's verification for a request (it seals first, and records a ``VerificationRun``).
    Idempotent: a finished request is not run again."""

    @service_write
    def claim() -> VerificationRequest | None:
        request = VerificationRequest.objects.select_for_update().filter(pk=request_id).first()
        if request is None or request.status in (VerificationStatus.SUCCEEDED, VerificationStatus.FAILED):
            return None
        request.status = VerificationStatus.RUNNING
        request.save(update_fields=["status"])
        return request

    request = claim()
    if request is None:
        return None
    try:
        run = verification_run_record()
    except Exception as exc:
        logger.exception("Verification request #%s failed", request_id)
        VerificationRequest.objects.filter(pk=request_id).update(
            status=VerificationStatus.FAILED, finished_at=timezone.now(), failure_message=str(exc)[:500]
        )
        return VerificationRequest.objects.get(pk=request_id)
    VerificationRequest.objects.filter(pk=request_id).update(
        status=VerificationStatus.SUCCEEDED, run=run, finished_at=timezone.now()
    )
    return VerificationRequest.objects.get(pk=request_id)


# --- Third-party auditors --------------------------------------------------------------------------------------


def _require_program_admin(actor: Any, programs: list[Program]) -> None:
    if getattr(actor, "is_staff", False):
        return
    if not all(user_has_role(actor, program.issuing_agency, [Role.PROGRAM_ADMIN]) for program in programs):
        raise ReportError(
            ReportErrorCode.PERMISSION_DENIED,
            _("Only a program administrator of each program's agency may grant auditors access to it."),
        )


@service_write
def grant_create(
    *, actor: Any, audit_firm: Organization, username: str, programs: list[Program], until: date, note: str = ""
) -> AuditorGrant:
    _require_program_admin(actor, programs)
    membership = audit_firm_auditor(audit_firm.pk, username) if audit_firm.kind == OrganizationKind.AUDIT_FIRM else None
    if membership is None:
        message = _("No auditor of this audit firm has that username.")
        raise ReportError(
            ReportErrorCode.INVALID, message, fields={"username": [{"code": "does_not_exist", "message": message}]}
        )
    if until < timezone.localdate():
        message = _("A grant cannot end before today.")
        raise ReportError(ReportErrorCode.INVALID, message, fields={"until": [{"code": "past", "message": message}]})
    grant = AuditorGrant.objects.create(
        grantee=membership.user, audit_firm=audit_firm, until=until, note=note, granted_by=actor
    )
    ordered: list[Program] = sorted(programs, key=lambda program: program.pk)
    grant.programs.set(ordered)
    audit_record(
        actor=actor,
        action="report.grant",
        target=grant,
        organization=audit_firm,
        after={
            "grantee": membership.user.username,
            "programs": sorted(p.pk for p in programs),
            "until": until.isoformat(),
        },
    )
    return grant


@service_write
def grant_revoke(*, actor: Any, grant: AuditorGrant) -> AuditorGrant:
    locked = AuditorGrant.objects.select_for_update().get(pk=grant.pk)
    _require_program_admin(actor, list(locked.programs.all()))
    if locked.revoked_at is not None:
        raise ReportError(ReportErrorCode.INVALID_STATE, _("This grant has already been revoked."))
    locked.revoked_at, locked.revoked_by = timezone.now(), actor
    locked.save(update_fields=["revoked_at", "revoked_by"])
    audit_record(
        actor=actor,
        action="report.grant_revoke",
        target=locked,
        organization=locked.audit_firm,
        before={"revoked": False},
        after={"revoked": True},
    )
    return locked
