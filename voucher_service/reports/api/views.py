"""Report API views: thin, they validate the query, decide who may read, and render the rows or stream the file."""

from __future__ import annotations

import tempfile
from typing import Any

from django.http import FileResponse, HttpResponseBase, StreamingHttpResponse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from voucher_service.api.pagination import MAX_PAGE_SIZE, _parameter
from voucher_service.programs.models import Program
from voucher_service.programs.selectors import programs_visible_to
from voucher_service.reports import services
from voucher_service.reports.api import serializers as s
from voucher_service.reports.api.params import PARAMS, export_params, raw_params
from voucher_service.reports.catalog import ENTITY_REGISTERS
from voucher_service.reports.compliance import CapComplianceReport
from voucher_service.reports.idioms import ReportError, ReportErrorCode
from voucher_service.reports.runner import PROGRAM_KEY, as_of_text, build_context, report_of, validated
from voucher_service.reports.scope import ReportScope, report_scope
from voucher_service.reports.statements import BudgetStatement, BudgetStatementReport
from voucher_service.reports.tabular import Report, ReportContext, json_row
from voucher_service.reports.writers import CONTENT_TYPES, csv_chunks, write_xlsx

DEFAULT_PAGE = 50
PAGING = [
    OpenApiParameter(
        "limit", int, description=f"Rows per page, 1 to {MAX_PAGE_SIZE} (default {DEFAULT_PAGE}).", required=False
    ),
    OpenApiParameter("offset", int, description="How many rows to skip (0 or more).", required=False),
]
FILE_RESPONSES = {
    (200, "text/csv"): OpenApiResponse(OpenApiTypes.BINARY, description="The report as CSV (UTF-8 with a BOM)."),
    (200, CONTENT_TYPES["xlsx"]): OpenApiResponse(OpenApiTypes.BINARY, description="The report as an XLSX sheet."),
}
JSONL_RESPONSE = {
    (200, "application/x-ndjson"): OpenApiResponse(
        OpenApiTypes.BINARY, description="The journal as JSON Lines, for scripts/verify_journal_export.py."
    )
}


class JsonAnswers(BaseContentNegotiation):
    """Answers are JSON whatever the Accept header says (files are streamed past the renderers)."""

    def select_parser(self, request: Request, parsers: Any) -> Any:
        return parsers[0] if parsers else None

    def select_renderer(self, request: Request, renderers: Any, format_suffix: Any = None) -> Any:
        return renderers[0], renderers[0].media_type


def _paging(request: Request) -> tuple[int, int]:
    limit = _parameter(
        request,
        "limit",
        default=DEFAULT_PAGE,
        minimum=1,
        maximum=MAX_PAGE_SIZE,
        message=_("The page size (limit) is a whole number from 1 to %(max)d.") % {"max": MAX_PAGE_SIZE},
    )
    offset = _parameter(
        request, "offset", default=0, minimum=0, maximum=None, message=_("The offset is a whole number, 0 or more.")
    )
    return offset, limit


def _denied() -> ReportError:
    return ReportError(ReportErrorCode.PERMISSION_DENIED, _("Only auditors and staff read this report."))


def _not_found() -> ReportError:
    return ReportError(ReportErrorCode.NOT_FOUND, _("Not found."))


class ReportBase(APIView):
    report_name = ""
    content_negotiation_class = JsonAnswers
    renderer_classes = [JSONRenderer]

    @property
    def report(self) -> Report:
        return report_of(self.report_name)

    def scope_for(self, request: Request) -> ReportScope:
        scope = report_scope(request.user)
        allowed = scope.reads_registers if self.report_name in ENTITY_REGISTERS else scope.audits
        if not allowed:
            raise ReportError(
                ReportErrorCode.PERMISSION_DENIED,
                _("Only auditors, staff and the entities themselves read registers.")
                if self.report_name in ENTITY_REGISTERS
                else _("Only auditors and staff read this report."),
            )
        return scope

    def program_for(self, request: Request, scope: ReportScope, program_id: int | None) -> Program | None:
        if program_id is None:
            return None
        program = Program.objects.filter(pk=program_id).first()
        if program is not None and scope.covers_program(program.pk):
            return program
        if program is not None and not scope.audits and programs_visible_to(request.user).filter(pk=program.pk):
            raise _denied()
        raise _not_found()

    def context_for(
        self, request: Request, program_id: int | None, serializer_class: Any = None
    ) -> tuple[ReportContext, dict[str, Any]]:
        if not request.user.is_authenticated:  # pragma: no cover - IsAuthenticated answers 401 first
            raise _not_found()
        if self.report.per_program:
            scope = report_scope(request.user)
            if not scope.audits:
                self.program_for(request, scope, program_id)  # 404 or 403, in that order
                raise _denied()
        else:
            scope = self.scope_for(request)
        program = self.program_for(request, scope, program_id)
        params = validated(self.report, request.query_params, serializer_class)
        extra = {key: params.pop(key) for key in ("file_format",) if key in params}
        return build_context(self.report, request.user, scope, params, program), extra


class RegisterView(ReportBase):
    def get(self, request: Request, program_id: int | None = None) -> Response:
        context, _extra = self.context_for(request, program_id)
        offset, limit = _paging(request)
        report = self.report
        rows = [json_row(report.columns, row) for row in report.page(context, offset, limit)]
        body = {
            "as_of": as_of_text(context.as_of),
            "count": report.count(context),
            "offset": offset,
            "limit": limit,
            **self.summary(context),
            "results": rows,
        }
        return Response(body)

    def summary(self, context: ReportContext) -> dict[str, Any]:
        return {}


class ComplianceView(RegisterView):
    report_name = "cap-compliance"

    def summary(self, context: ReportContext) -> dict[str, Any]:
        report = self.report
        assert isinstance(report, CapComplianceReport)  # noqa: S101
        compliance = report.compliance(context)
        return {
            "compliant": compliance.compliant,
            "caps_checked": len(compliance.uses),
            "exceeded": len(compliance.exceeded),
            "chain_head": {"height": compliance.chain_height, "hash": compliance.chain_hash},
        }


def statement_document(statement: BudgetStatement) -> dict[str, Any]:
    from ledger.money import fen_to_yuan

    def figure(item: Any) -> dict[str, Any]:
        return {
            "key": item.key,
            "label": str(item.label),
            "amount": fen_to_yuan(item.amount),
            "accounts": [
                {"account": p.account, "side": p.side, "sign": p.sign, "amount": fen_to_yuan(p.amount)}
                for p in item.parts
            ],
        }

    return {
        "program": statement.program.pk,
        "program_code": statement.program.code,
        "year": statement.year,
        "as_of": as_of_text(statement.as_of),
        "chain_head": {"height": statement.chain_height, "hash": statement.chain_hash},
        "balanced": statement.balanced,
        "figures": [figure(item) for item in statement.figures.values()],
        "payers": [
            {"payer": payer, "paid": figure(paid), "clawed_back": figure(clawed)}
            for payer, paid, clawed in statement.payers
        ],
        "identities": [
            {
                "key": identity.key,
                "formula": str(identity.formula),
                "left": fen_to_yuan(identity.left),
                "right": fen_to_yuan(identity.right),
                "holds": identity.holds,
            }
            for identity in statement.identities
        ],
    }


class BudgetStatementView(ReportBase):
    report_name = "budget-statement"

    @extend_schema(
        operation_id="report_budget_statement",
        parameters=[PARAMS["budget-statement"]],
        responses=s.BudgetStatementSerializer,
    )
    def get(self, request: Request, program_id: int) -> Response:
        context, _extra = self.context_for(request, program_id)
        report = self.report
        assert isinstance(report, BudgetStatementReport)  # noqa: S101
        return Response(statement_document(report.statement(context)))


class ExportView(ReportBase):
    def get(self, request: Request, program_id: int | None = None) -> HttpResponseBase:
        report = self.report
        context, extra = self.context_for(request, program_id, export_params(report.name, report.file_formats))
        file_format = extra.get("file_format", "csv")
        stored = raw_params(request.query_params, PARAMS[report.name])
        if program_id is not None:
            stored[PROGRAM_KEY] = program_id
        job = services.export_start(
            actor=request.user, report=report, context=context, file_format=file_format, params=stored
        )
        if job is not None:
            body = s.ExportJobSerializer(job, context={"request": request}).data
            return Response(body, status=202, headers={"Location": body["status_url"]})
        return stream_file(report, context, file_format)


def _file_name(report: Report, context: ReportContext, file_format: str) -> str:
    return f"{report.name}-{timezone.localtime(context.as_of):%Y%m%d-%H%M%S}.{file_format}"


def stream_file(report: Report, context: ReportContext, file_format: str) -> HttpResponseBase:
    language = translation.get_language()
    name = _file_name(report, context, file_format)
    if file_format == "xlsx":
        handle = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes it when the response is sent
        write_xlsx(report, context, handle)
        handle.seek(0)
        return FileResponse(handle, as_attachment=True, filename=name, content_type=CONTENT_TYPES["xlsx"])

    def chunks() -> Any:
        with translation.override(language):
            if file_format == "jsonl":
                yield from report.jsonl_chunks(context)
            else:
                yield from csv_chunks(report, context)

    response = StreamingHttpResponse(chunks(), content_type=CONTENT_TYPES[file_format])
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _export_schema(report: Report, operation_id: str) -> Any:
    responses: dict[Any, Any] = dict(FILE_RESPONSES)
    if "jsonl" in report.file_formats:
        responses.update(JSONL_RESPONSE)
    responses[202] = s.ExportJobSerializer
    return extend_schema(
        operation_id=operation_id,
        parameters=[export_params(report.name, report.file_formats)],
        responses=responses,
        description=(
            f"Up to REPORTS_EXPORT_SYNC_MAX_ROWS rows the file streams at once (200); a larger export runs in the "
            f"background (202, with the job's status_url). {report.name}: see the JSON form for the columns."
        ),
    )


def register_views(name: str) -> tuple[type[APIView], type[APIView]]:
    """The JSON view and the export view of the report ``name``, with their schema."""
    report = report_of(name)
    snake = name.replace("-", "_")
    page_extra: dict[str, Any] = {}
    base: type[RegisterView] = RegisterView
    if name == "cap-compliance":
        page_extra = {
            "compliant": s.serializers.BooleanField(read_only=True),
            "caps_checked": s.serializers.IntegerField(read_only=True),
            "exceeded": s.serializers.IntegerField(read_only=True),
            "chain_head": s.ChainHeadSerializer(read_only=True),
        }
        base = ComplianceView
    page = s.page_serializer(report, **page_extra)

    def read(self: Any, request: Request, program_id: int | None = None) -> Response:
        return base.get(self, request, program_id)

    def export(self: Any, request: Request, program_id: int | None = None) -> HttpResponseBase:
        return ExportView.get(self, request, program_id)

    schema = extend_schema(operation_id=f"report_{snake}", parameters=[PARAMS[name], *PAGING], responses=page)
    list_view = type(f"{page.__name__}View", (base,), {"report_name": name, "get": schema(read)})
    export_get = _export_schema(report, f"report_{snake}_export")(export)
    export_view = type(f"{page.__name__}ExportView", (ExportView,), {"report_name": name, "get": export_get})
    return list_view, export_view


def statement_export_view() -> type[APIView]:
    report = report_of("budget-statement")

    def export(self: Any, request: Request, program_id: int | None = None) -> HttpResponseBase:
        return ExportView.get(self, request, program_id)

    get = _export_schema(report, "report_budget_statement_export")(export)
    return type("BudgetStatementExportView", (ExportView,), {"report_name": report.name, "get": get})
