"""Bulk issuance from a CSV upload (columns ``uscc``, ``amount`` in yuan, optional ``memo``).

Upload (synchronous, one transaction): every row is validated and errors are reported per row. In
``all_or_nothing`` mode any row error refuses the whole file and nothing is written; in ``valid_rows_only`` mode
the valid rows go ahead and the others are reported. The accepted rows become pending ``Issuance`` rows, and a
Celery task issues them.

Run (asynchronous): ``valid_rows_only`` issues in committed chunks, so a refused row (a cap reached) affects only
itself and progress shows in the database as it goes; ``all_or_nothing`` issues everything in one transaction
and a single refused row fails the batch. Live progress for both is also published to the cache.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from stdnum import exceptions as stdnum_errors
from stdnum.cn import uscc as uscc_number

from accounts.audit import audit_record
from accounts.models import Organization
from ledger.concurrency import retry_on_db_conflict
from ledger.money import AmountTooLarge, yuan_text_to_fen
from voucher_service.programs.budgets import current_fiscal_year
from voucher_service.programs.models import FiscalYearBudget, Program
from voucher_service.programs.selectors import program_issuance_refusal, program_version_in_force
from voucher_service.vouchers.eligibility import entity_category_ok, entity_place_ok
from voucher_service.vouchers.errors import VoucherError, VoucherErrorCode
from voucher_service.vouchers.issuance import issue_batch
from voucher_service.vouchers.models import (
    BulkIssuance,
    BulkMode,
    BulkStatus,
    Issuance,
    IssuanceKind,
    IssuanceStatus,
)
from voucher_service.vouchers.permissions import ISSUE_IN_BULK, require_role


def unknown_entity_message() -> str:
    return _("No entity in the program's jurisdiction is registered with this code.")


REQUIRED_COLUMNS = ("uscc", "amount")
OPTIONAL_COLUMNS = ("memo",)
MAX_ROWS = 50_000
MAX_BYTES = 10 * 1024 * 1024
CHUNK_ROWS = 500


@dataclass
class ParsedRow:
    row: int  # 1-based data row number (the header is row 0), as a spreadsheet user counts them
    entity: Organization
    amount: int
    memo: str


@dataclass
class ParsedFile:
    rows: list[ParsedRow] = field(default_factory=list)
    errors: dict[str, list[dict[str, str]]] = field(default_factory=dict)

    def add_error(self, row: int, column: str, code: str, message: str) -> None:
        self.errors.setdefault(f"rows.{row}.{column}", []).append({"code": code, "message": message})

    @property
    def rejected_rows(self) -> list[dict[str, Any]]:
        by_row: dict[int, dict[str, Any]] = {}
        for path, errors in self.errors.items():
            _rows, number, column = path.split(".", 2)
            by_row.setdefault(int(number), {"row": int(number), "fields": {}})["fields"][column] = errors
        return [by_row[number] for number in sorted(by_row)]


def _file_error(message: str, code: str = "invalid") -> VoucherError:
    return VoucherError(VoucherErrorCode.INVALID, message, fields={"file": [{"code": code, "message": message}]})


def _decode(content: bytes) -> str:
    if len(content) > MAX_BYTES:
        raise _file_error(_("The file is larger than 10 MB."), "too_large")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _file_error(
            _("The file is not UTF-8 text (row %(row)d). Save it as “CSV UTF-8” and upload it again.")
            % {"row": content[: exc.start].count(b"\n") + 1},
            "encoding",
        ) from exc
    if "\x00" in text:  # a binary file saved as .csv; no cell may hold NUL (PostgreSQL cannot store one)
        raise _file_error(_("The file contains NUL characters: it is not a text CSV."), "encoding")
    return text


def _reader(text: str) -> Iterator[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        yield from _rows(reader)
    except csv.Error as exc:  # e.g. a field over the csv module's size limit, or a stray NUL byte
        raise _file_error(
            _("The file is not a well-formed CSV (line %(line)d): check its quotes and separators.")
            % {"line": reader.line_num + 1},  # the lines read so far, then the one it choked on
        ) from exc


def _rows(reader: csv.DictReader) -> Iterator[dict[str, str]]:
    header = [name.strip().lower() for name in (reader.fieldnames or [])]
    missing = [column for column in REQUIRED_COLUMNS if column not in header]
    if missing:
        raise _file_error(
            _("Missing column(s): %(columns)s. The first line must name: uscc, amount[, memo].")
            % {"columns": ", ".join(missing)},
            "missing_columns",
        )
    reader.fieldnames = header
    for row in reader:
        yield {key: (value or "").strip() for key, value in row.items() if key}


def _parse_uscc(value: str) -> str | None:
    try:
        return uscc_number.validate(value)
    except stdnum_errors.ValidationError:
        return None


def _parse_amount(number: int, text: str, parsed: ParsedFile) -> int | None:
    """The amount column takes the API's yuan string ("1000.00"); a row error otherwise, in the reader's language."""
    try:
        amount = yuan_text_to_fen(text)
    except AmountTooLarge:
        message = _("The amount is larger than any budget: at most 10,000,000,000,000.00 yuan.")
        parsed.add_error(number, "amount", "max_value", message)
        return None
    except ValueError:
        parsed.add_error(
            number,
            "amount",
            "invalid",
            _('Send an amount in yuan as a decimal string with at most two decimals, such as "1000.00".'),
        )
        return None
    if amount == 0:
        parsed.add_error(number, "amount", "min_value", _("The amount must be more than zero."))
        return None
    return amount


def _check_row(
    number: int, raw: dict[str, str], entities: dict[str, Organization], parsed: ParsedFile
) -> ParsedRow | None:
    ok = True
    code = _parse_uscc(raw.get("uscc", ""))
    if code is None:
        parsed.add_error(number, "uscc", "invalid", _("Not a valid unified social credit code."))
        ok = False
    elif code not in entities:
        # One answer whether nobody has the code or somebody outside the program's jurisdiction does: an upload
        # must not tell an agency which codes are registered elsewhere.
        parsed.add_error(number, "uscc", "unknown", unknown_entity_message())
        ok = False
    amount = _parse_amount(number, raw.get("amount", ""), parsed)
    ok = ok and amount is not None
    if not ok or code is None or amount is None:
        return None
    return ParsedRow(row=number, entity=entities[code], amount=amount, memo=raw.get("memo", "")[:500])


def _check_eligibility(rows: list[ParsedRow], program: Program, parsed: ParsedFile) -> list[ParsedRow]:
    version = program_version_in_force(program, timezone.localdate())
    rules = version.parsed() if version else None
    kept = []
    for row in rows:
        if rules is None or not entity_category_ok(rules, row.entity):
            parsed.add_error(row.row, "uscc", "not_eligible", _("This entity's category is not eligible."))
        else:
            kept.append(row)
    return kept


def _at_most(rows: Iterator[dict[str, str]], limit: int) -> list[dict[str, str]]:
    """The rows, counted as they are read: one past ``limit`` refuses the file without reading the rest (a file
    of a million empty rows costs 50,001 small dicts, not a million)."""
    kept: list[dict[str, str]] = []
    for row in rows:
        if len(kept) == limit:
            raise _file_error(_("At most %(max)d rows per file.") % {"max": limit}, "too_many_rows")
        kept.append(row)
    return kept


def parse_csv(content: bytes, program: Program) -> ParsedFile:
    text = _decode(content)
    raw_rows = _at_most(_reader(text), MAX_ROWS)
    if not raw_rows:
        raise _file_error(_("The file has no data rows."), "empty")
    codes = {code for raw in raw_rows if (code := _parse_uscc(raw.get("uscc", "")))}
    # Only entities located in the program's jurisdiction exist for this upload (see _check_row).
    entities = {
        org.uscc: org
        for org in Organization.objects.filter(uscc__in=codes).select_related("jurisdiction")
        if org.uscc and entity_place_ok(program, org)
    }
    parsed, seen = ParsedFile(), dict[int, int]()
    rows = []
    for number, raw in enumerate(raw_rows, start=1):
        row = _check_row(number, raw, entities, parsed)
        if row is None:
            continue
        if row.entity.pk in seen:
            parsed.add_error(number, "uscc", "duplicate", _("Duplicate of row %(row)d.") % {"row": seen[row.entity.pk]})
            continue
        seen[row.entity.pk] = number
        rows.append(row)
    parsed.rows = _check_eligibility(rows, program, parsed)
    return parsed


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
        fields={"file": [{"code": "duplicate_file", "message": message}]},
        duplicate_of=earlier.pk,
    )


@retry_on_db_conflict
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
            fields={"program": [{"code": refusal.code, "message": str(refusal)}]},
        )
    year, digest = current_fiscal_year(), hashlib.sha256(content).hexdigest()
    duplicate_of = None
    if allow_duplicate_file:
        duplicate_of = BulkIssuance.objects.filter(program=program, fiscal_year=year, file_sha256=digest).first()
    else:
        _refuse_duplicate(program, year, digest)
    parsed = parse_csv(content, program)
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
    from voucher_service.vouchers.tasks import run_bulk_issuance

    # robust: a broker outage must not turn the committed upload into a 500; the sweeper re-sends it.
    transaction.on_commit(lambda: run_bulk_issuance.delay(bulk.pk), robust=True)
    return bulk


# --- Running ---------------------------------------------------------------------------------------------------


def progress_key(bulk_id: int) -> str:
    return f"bulk-issuance:{bulk_id}:progress"


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
    cache.delete(progress_key(bulk_id))
    return bulk


@retry_on_db_conflict
def _mark_running(bulk_id: int) -> BulkIssuance:
    bulk = BulkIssuance.objects.select_for_update(of=("self",)).select_related("program").get(pk=bulk_id)
    if bulk.status == BulkStatus.QUEUED:
        bulk.status, bulk.started_at = BulkStatus.RUNNING, timezone.now()
        bulk.save(update_fields=["status", "started_at"])
    return bulk


@retry_on_db_conflict
def _run_chunk(bulk_id: int, all_or_nothing: bool, limit: int | None) -> int:
    """Issue the next pending rows (all of them when ``limit`` is None). Returns how many rows it decided."""
    BulkIssuance.objects.select_for_update().get(pk=bulk_id)  # one runner per bulk at a time
    pending = Issuance.objects.filter(bulk_id=bulk_id, status=IssuanceStatus.PENDING).order_by("bulk_row")
    ids = list(pending.values_list("pk", flat=True)[:limit] if limit else pending.values_list("pk", flat=True))
    if not ids:
        return 0
    rows = list(
        Issuance.objects.select_for_update(of=("self",))
        .select_related("program")
        .filter(pk__in=ids)
        .order_by("bulk_row")
    )
    actor = rows[0].requested_by
    done_before = BulkIssuance.objects.values_list("processed_rows", "succeeded_rows").get(pk=bulk_id)

    def progress(written: int) -> None:
        cache.set(
            progress_key(bulk_id),
            {"processed_rows": done_before[0] + written, "succeeded_rows": done_before[1] + written},
            timeout=24 * 3600,
        )

    issue_batch(rows, actor=actor, all_or_nothing=all_or_nothing, progress=progress)
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


def bulk_progress(bulk: BulkIssuance) -> dict[str, int]:
    """Live figures while running (from the cache), else the committed counters."""
    live = cache.get(progress_key(bulk.pk)) if bulk.status == BulkStatus.RUNNING else None
    committed = {"processed_rows": bulk.processed_rows, "succeeded_rows": bulk.succeeded_rows}
    if live and live["processed_rows"] > committed["processed_rows"]:
        return live
    return committed
