"""Reading a report: from a request's query (the API) or from an export job's stored parameters (the task), the
same validation and the same context, so a background export is exactly the report the request would give."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError

from voucher_service.programs.models import Program
from voucher_service.programs.selectors import budget_for, current_fiscal_year
from voucher_service.reports.api.params import PARAMS
from voucher_service.reports.catalog import REPORTS
from voucher_service.reports.idioms import ReportError, ReportErrorCode
from voucher_service.reports.models import ExportJob
from voucher_service.reports.scope import ReportScope, report_scope
from voucher_service.reports.tabular import Report, ReportContext

PROGRAM_KEY = "_program"


def report_of(name: str) -> Report:
    return REPORTS[name]


def validated(report: Report, query: Any, serializer_class: Any = None) -> dict[str, Any]:
    serializer = (serializer_class or PARAMS[report.name])(data=query)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _per_program(report: Report, params: dict[str, Any], program: Program) -> None:
    params["program_obj"] = program
    if report.name == "budget-statement":
        year = params.get("year") or current_fiscal_year()
        budget = budget_for(program, year)
        if budget is None:
            raise ReportError(
                ReportErrorCode.NOT_FOUND,
                _("Fiscal year %(year)d is not open for this program.") % {"year": year},
            )
        params["year"], params["budget"] = year, budget


def build_context(
    report: Report, user: Any, scope: ReportScope, params: dict[str, Any], program: Program | None
) -> ReportContext:
    as_of = params.pop("as_of", None) or timezone.now()
    if program is not None:
        _per_program(report, params, program)
    return ReportContext(user=user, scope=scope, as_of=as_of, params=params)


def job_context(job: ExportJob) -> ReportContext:
    report = report_of(job.report)
    stored = dict(job.params)
    program_id = stored.pop(PROGRAM_KEY, None)
    try:
        params = validated(report, stored)
    except ValidationError as exc:  # pragma: no cover - stored parameters were validated when the job was made
        raise ReportError(ReportErrorCode.INVALID, str(exc.detail)) from exc
    params.pop("as_of", None)
    program = Program.objects.get(pk=program_id) if program_id is not None else None
    scope = report_scope(job.requested_by)
    if program is not None and not scope.covers_program(program.pk):
        raise ReportError(ReportErrorCode.NOT_FOUND, _("The program is no longer yours to read."))
    context = build_context(report, job.requested_by, scope, params, program)
    context.as_of = job.as_of
    return context


def as_of_text(moment: datetime) -> str:
    return timezone.localtime(moment).isoformat()
