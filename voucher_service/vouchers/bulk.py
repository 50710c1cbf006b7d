"""Bulk issuance from a CSV upload (the file is read by ``bulk_csv``): the upload service and its runner.

Upload (synchronous, one ``service_write``): every row is validated and errors are reported per row. In
``all_or_nothing`` mode any row error refuses the whole file and nothing is written; in ``valid_rows_only`` mode
the valid rows go ahead and the others are reported. The accepted rows become pending ``Issuance`` rows, and a
Celery task issues them.

Run (asynchronous): ``valid_rows_only`` issues in committed chunks, so a refused row (a cap reached) affects only
itself and progress shows in the database as it goes; ``all_or_nothing`` issues everything in one transaction
and a single refused row fails the batch. Live progress for both is also published to the cache, and read by
``selectors.bulk_issuance_progress``.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.core.cache import cache
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.audit import audit_record
from core.errors import field_error
from core.transactions import enqueue_on_commit, service_write
from voucher_service.programs.models import FiscalYearBudget, Program
from voucher_service.programs.selectors import current_fiscal_year, program_issuance_refusal
from voucher_service.vouchers.bulk_csv import bulk_file_parse
from voucher_service.vouchers.errors import VoucherError, VoucherErrorCode
from voucher_service.vouchers.issuance import issuances_issue
from voucher_service.vouchers.models import (
    BulkIssuance,
    BulkMode,
    BulkStatus,
    Issuance,
    IssuanceKind,
    IssuanceStatus,
)
from voucher_service.vouchers.permissions import ISSUE_IN_BULK, require_role
from voucher_service.vouchers.selectors import bulk_progress_key

CHUNK_ROWS = 500


def _require_uploader(actor: Any, program: Program) -> None:
    require_role(
        actor,
        program.issuing_agency,
        ISSUE_IN_BULK,
        _("Only a program administrator of the program's agency may issue in bulk."),
    )


def _refuse_duplicate(program: Program, year: int, digest: str) -> None:
    """The same file (by SHA-256) uploaded again for the same program and year would issue everything twice.

    A bulk upload that issued nothing (status failed) does not count. Concurrent uploads of one program-year
    queue on its budget row, so two copies sent at once cannot both pass.
    """
    FiscalYearBudget.objects.select_for_update().filter(program=program, year=year).first()
    earlier = (
        BulkIssuance.objects.filter(program=program, fiscal_year=year, file_sha256=digest)
        .exclude(status=BulkStatus.FAILED)
        .order_by("pk")
        .first()
    )
    if earlier is None:
        return
    message = _(
        "This file was already uploaded for this program in %(year)d: bulk issuance %(id)d (“%(name)s”, "
        "%(when)s). To issue it again, send allow_duplicate_file=true."
    ) % {
        "year": year,
        "id": earlier.pk,
        "name": earlier.file_name,
        "when": timezone.localtime(earlier.created_at).strftime("%Y-%m-%d %H:%M"),
    }
    raise VoucherError(
        VoucherErrorCode.DUPLICATE_FILE,
        message,
        fields=field_error("file", "duplicate_file", message),
        duplicate_of=earlier.pk,
    )


@service_write
def bulk_issuance_create(
    *, actor: Any, program: Program, content: bytes, file_name: str, mode: str, allow_duplicate_file: bool = False
) -> BulkIssuance:
    """Validate the upload and queue its rows. Raises (and writes nothing) when the file is refused.

    A file already uploaded for this program and year is refused (409) unless ``allow_duplicate_file``.
    """
    _require_uploader(actor, program)
    refusal = program_issuance_refusal(program, timezone.localdate())
    if refusal is not None:
        raise VoucherError(
            VoucherErrorCode.NOT_ELIGIBLE,
            str(refusal),
            fields=field_error("program", refusal.code, refusal.message),
        )
    year, digest = current_fiscal_year(), hashlib.sha256(content).hexdigest()
    duplicate_of = None
    if allow_duplicate_file:
        duplicate_of = BulkIssuance.objects.filter(program=program, fiscal_year=year, file_sha256=digest).first()
    else:
        _refuse_duplicate(program, year, digest)
    parsed = bulk_file_parse(content, program)
    if parsed.errors and (mode == BulkMode.ALL_OR_NOTHING or not parsed.rows):
        raise VoucherError(
            VoucherErrorCode.INVALID, _("Some rows are not valid; nothing was issued."), fields=parsed.errors
        )
    bulk = BulkIssuance.objects.create(
        program=program,
        fiscal_year=year,
        mode=mode,
        file_name="".join(ch for ch in file_name if ch.isprintable())[:255],
        file_sha256=digest,
        total_rows=len(parsed.rows),
        rejected_rows=parsed.rejected_rows,
        uploaded_by=actor,
    )
    Issuance.objects.bulk_create(
        [
            Issuance(
                kind=IssuanceKind.BULK,
                program=program,
                entity=row.entity,
                amount=row.amount,
                fiscal_year=year,
                memo=row.memo,
                bulk=bulk,
                bulk_row=row.row,
                requested_by=actor,
            )
            for row in parsed.rows
        ],
        batch_size=1000,
    )
    audit_record(
        actor=actor,
        action="bulk_issuance.create",
        target=bulk,
        organization=program.issuing_agency,
        after={
            "rows": len(parsed.rows),
            "rejected": len(parsed.rejected_rows),
            "mode": mode,
            "sha256": bulk.file_sha256,
            "duplicate_of": duplicate_of.pk if duplicate_of else None,
        },
    )
    from voucher_service.vouchers.tasks import run_bulk_issuance  # the tasks module imports this one

    enqueue_on_commit(run_bulk_issuance, bulk.pk)  # a lost message is re-sent by requeue_stalled
    return bulk


# --- Running ---------------------------------------------------------------------------------------------------


def _refresh_counters(bulk_id: int) -> BulkIssuance:
    counts = Issuance.objects.filter(bulk_id=bulk_id).aggregate(
        succeeded=Count("pk", filter=Q(status=IssuanceStatus.SUCCEEDED)),
        failed=Count("pk", filter=Q(status=IssuanceStatus.FAILED)),
    )
    bulk = BulkIssuance.objects.select_for_update().get(pk=bulk_id)
    bulk.succeeded_rows, bulk.failed_rows = counts["succeeded"], counts["failed"]
    bulk.processed_rows = bulk.succeeded_rows + bulk.failed_rows
    if bulk.processed_rows == bulk.total_rows:
        bulk.status = BulkStatus.COMPLETED if bulk.succeeded_rows else BulkStatus.FAILED
        bulk.completed_at = bulk.completed_at or timezone.now()
    bulk.save(update_fields=["succeeded_rows", "failed_rows", "processed_rows", "status", "completed_at"])
    cache.delete(bulk_progress_key(bulk_id))
    return bulk


@service_write
def _mark_running(bulk_id: int) -> BulkIssuance:
    bulk = BulkIssuance.objects.select_for_update(of=("self",)).select_related("program").get(pk=bulk_id)
    if bulk.status == BulkStatus.QUEUED:
        bulk.status, bulk.started_at = BulkStatus.RUNNING, timezone.now()
        bulk.save(update_fields=["status", "started_at"])
    return bulk


@service_write
def _run_chunk(bulk_id: int, all_or_nothing: bool, limit: int | None) -> int:
    """Issue the next pending rows (all of them when ``limit`` is None). Returns how many rows it decided."""
    BulkIssuance.objects.select_for_update().get(pk=bulk_id)  # one runner per bulk at a time
    pending = Issuance.objects.filter(bulk_id=bulk_id, status=IssuanceStatus.PENDING).order_by("bulk_row")
    ids = list(pending.values_list("pk", flat=True)[:limit] if limit else pending.values_list("pk", flat=True))
    if not ids:
        return 0
    rows = list(
        Issuance.objects.select_for_update(of=("self",))
        .select_related("program__jurisdiction")
        .filter(pk__in=ids)
        .order_by("bulk_row")
    )
    actor = rows[0].requested_by
    done_before = BulkIssuance.objects.values_list("processed_rows", "succeeded_rows").get(pk=bulk_id)

    def progress(written: int) -> None:
        cache.set(
            bulk_progress_key(bulk_id),
            {"processed_rows": done_before[0] + written, "succeeded_rows": done_before[1] + written},
            timeout=24 * 3600,
        )

    issuances_issue(rows, actor=actor, all_or_nothing=all_or_nothing, progress=progress)
    _refresh_counters(bulk_id)
    return len(rows)


def bulk_issuance_run(*, bulk_id: int) -> BulkIssuance:
    """Issue a queued bulk upload. Safe to run again: decided rows are skipped, a finished bulk is left alone."""
    bulk = _mark_running(bulk_id)
    if bulk.status in (BulkStatus.COMPLETED, BulkStatus.FAILED):
        return bulk
    if bulk.mode == BulkMode.ALL_OR_NOTHING:
        _run_chunk(bulk_id, True, None)
    else:
        while _run_chunk(bulk_id, False, CHUNK_ROWS):
            pass
    return BulkIssuance.objects.get(pk=bulk_id)
