"""The auditor's report pages: the budget statement, the cap-compliance proof and the registers as of a moment,
with filters, pages and exports (streamed at once when small, else the reports package's background job with its
progress polled by htmx and a download link that expires). Each reads through ``voucher_service.reports``, as the
API does; a program or a job outside the auditor's scope does not exist (404)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from ledger.money import fen_to_yuan
from voucher_service.portal.audit_query import (
    PAGE_SIZE,
    Page,
    Reading,
    audit_events_view,
    auditing,
    display_rows,
    page_of,
    program_in_scope,
    read_report,
)
from voucher_service.reports import selectors, services
from voucher_service.reports.api.views import stream_file
from voucher_service.reports.compliance import CapComplianceReport
from voucher_service.reports.idioms import ReportError
from voucher_service.reports.models import ExportStatus
from voucher_service.reports.runner import PROGRAM_KEY
from voucher_service.reports.statements import BudgetStatementReport, describe_parts
from voucher_service.reports.writers import CONTENT_TYPES

# The registers with a page of their own (the audit log has its own template: before and after side by side), and
# the journal (entries and postings with their digests and chain positions; JSON Lines for the offline verifier).
REGISTERS = {
    "vouchers": _("Voucher register"),
    "applications": _("Application register"),
    "claims": _("Claim register"),
    "payouts": _("Payouts by payer"),
    "clawbacks": _("Clawbacks and recoveries"),
    "audit-log": _("Audit log"),
    "journal": _("Journal"),
}
PER_PROGRAM = {"budget-statement": "portal:audit-statement", "cap-compliance": "portal:audit-compliance"}
PAYERS = {
    "program": _("the program's own jurisdiction"),
    "province": _("the province"),
    "city": _("the city"),
    "district": _("the district"),
    "county": _("the county"),
}


def page_url(name: str, program_id: int | None = None) -> str:
    if name in PER_PROGRAM:
        return reverse(PER_PROGRAM[name], args=[program_id])
    return reverse("portal:audit-register", args=[name])


def export_url(name: str, program_id: int | None = None) -> str:
    if name in PER_PROGRAM:
        return reverse("portal:audit-program-export", args=[program_id, name])
    return reverse("portal:audit-export", args=[name])


def _render(request: HttpRequest, template: str, reading: Reading, **context: Any) -> HttpResponse:
    program_id = reading.program.pk if reading.program else None
    context |= {
        "reading": reading,
        "form": reading.form,
        "report": reading.report,
        "program": reading.program,
        "export_url": export_url(reading.report.name, program_id),
        "page_url": page_url(reading.report.name, program_id),
        "file_formats": reading.report.file_formats,
    }
    return render(request, template, context, status=200 if reading.context is not None else 400)


# --- Per program ------------------------------------------------------------------------------------------------


@login_required
@require_GET
def statement(request: HttpRequest, program_id: int) -> HttpResponse:
    scope = auditing(request)
    reading = read_report(request, scope, "budget-statement", program_in_scope(scope, program_id))
    view: dict[str, Any] = {}
    if reading.context is not None:
        report = reading.report
        assert isinstance(report, BudgetStatementReport)  # noqa: S101
        data = report.statement(reading.context)
        view = {
            "statement": data,
            "figures": [
                {"key": f.key, "label": f.label, "amount": fen_to_yuan(f.amount), "accounts": describe_parts(f.parts)}
                for f in data.figures.values()
            ],
            "payers": [
                {
                    "payer": payer,
                    "label": PAYERS.get(payer, payer),
                    "paid": fen_to_yuan(paid.amount),
                    "clawed_back": fen_to_yuan(clawed.amount),
                    "accounts": describe_parts(paid.parts),
                }
                for payer, paid, clawed in data.payers
            ],
            "identities": [
                {
                    "formula": i.formula,
                    "left": fen_to_yuan(i.left),
                    "right": fen_to_yuan(i.right),
                    "holds": i.holds,
                }
                for i in data.identities
            ],
        }
    return _render(request, "portal/audit/statement.html", reading, **view)


@login_required
@require_GET
def compliance(request: HttpRequest, program_id: int) -> HttpResponse:
    scope = auditing(request)
    reading = read_report(request, scope, "cap-compliance", program_in_scope(scope, program_id))
    view: dict[str, Any] = {}
    if reading.context is not None:
        report = reading.report
        assert isinstance(report, CapComplianceReport)  # noqa: S101
        proof = report.compliance(reading.context)
        page = _slice(request, [use.as_row() for use in proof.uses])
        view = {"proof": proof, "page": page, "rows": display_rows(report.columns, page.rows)}
    return _render(request, "portal/audit/compliance.html", reading, **view)


def _slice(request: HttpRequest, rows: list[tuple[Any, ...]]) -> Page:
    try:
        number = max(1, int(request.GET.get("page", "1")))
    except ValueError:
        number = 1
    pages = max(1, -(-len(rows) // PAGE_SIZE))
    number = min(number, pages)
    return Page(rows[(number - 1) * PAGE_SIZE : number * PAGE_SIZE], len(rows), number, pages)


# --- Registers --------------------------------------------------------------------------------------------------


@login_required
@require_GET
def register(request: HttpRequest, name: str) -> HttpResponse:
    if name not in REGISTERS:
        raise Http404
    scope = auditing(request)
    reading = read_report(request, scope, name)
    view: dict[str, Any] = {"title": REGISTERS[name], "name": name}
    if reading.context is not None:
        page = page_of(request, reading.report, reading.context)
        view |= {"page": page, "rows": display_rows(reading.report.columns, page.rows)}
        if name == "audit-log":
            view["events"] = audit_events_view(reading.report.columns, page.rows)
    template = "portal/audit/audit_log.html" if name == "audit-log" else "portal/audit/register.html"
    return _render(request, template, reading, **view)


# --- Exports ----------------------------------------------------------------------------------------------------


@login_required
@require_GET
def export(request: HttpRequest, name: str, program_id: int | None = None) -> HttpResponseBase:
    """The report as a file: streamed now (small), or a background job whose page shows its progress (large)."""
    if (name in PER_PROGRAM) != (program_id is not None) or (name not in PER_PROGRAM and name not in REGISTERS):
        raise Http404
    scope = auditing(request)
    program = program_in_scope(scope, program_id) if program_id is not None else None
    reading = read_report(request, scope, name, program)
    back = f"{page_url(name, program_id)}?{request.GET.urlencode()}"
    file_format = request.GET.get("file_format", "csv")
    if reading.context is None or file_format not in reading.report.file_formats:
        return redirect(back)
    stored: dict[str, Any] = dict(reading.params)
    if program is not None:
        stored[PROGRAM_KEY] = program.pk
    try:
        job = services.export_start(
            actor=request.user, report=reading.report, context=reading.context, file_format=file_format, params=stored
        )
    except ReportError as exc:
        messages.error(request, str(exc))
        return redirect(back)
    if job is not None:
        return redirect("portal:audit-export-job", pk=job.pk)
    return stream_file(reading.report, reading.context, file_format)


@login_required
@require_GET
def export_jobs(request: HttpRequest) -> HttpResponse:
    auditing(request)
    jobs = selectors.export_jobs_of(request.user).order_by("-pk")[:50]
    return render(request, "portal/audit/exports.html", {"jobs": jobs})


@login_required
@require_GET
def export_job(request: HttpRequest, pk: int) -> HttpResponse:
    """One background export: its progress (the page polls this with htmx until it ends), then its download."""
    auditing(request)
    job = get_object_or_404(selectors.export_jobs_of(request.user), pk=pk)
    running = job.status in (ExportStatus.QUEUED, ExportStatus.RUNNING)
    expired = job.status == ExportStatus.EXPIRED or bool(job.expires_at and job.expires_at <= timezone.now())
    context = {
        "job": job,
        "running": running,
        "downloadable": job.status == ExportStatus.SUCCEEDED and not expired,
        "expired": expired,
        "percent": 100 if job.status == ExportStatus.SUCCEEDED else _percent(job.rows_written, job.total_rows),
        "title": REGISTERS.get(job.report) or job.report,
    }
    template = "portal/audit/_export_progress.html" if request.htmx else "portal/audit/export_job.html"  # type: ignore[attr-defined]
    return render(request, template, context)


def _percent(done: int, total: int) -> int:
    return min(100, (100 * done) // total) if total else 0


@login_required
@require_GET
def export_download(request: HttpRequest, pk: int) -> HttpResponseBase:
    auditing(request)
    job = get_object_or_404(selectors.export_jobs_of(request.user), pk=pk)
    try:
        handle = services.export_job_download(actor=request.user, job=job)
    except ReportError as exc:
        messages.error(request, str(exc))
        return redirect("portal:audit-export-job", pk=job.pk)
    name = f"{job.report}-{job.pk}.{job.file_format}"
    return FileResponse(handle, as_attachment=True, filename=name, content_type=CONTENT_TYPES[job.file_format])
