"""Reading a report for an auditor's page: the filter form (what the report's API parameters are, as inputs), the
same validation as the API (``reports.api.params``, through ``reports.runner``), its refusals on the fields they
name, and the rows of one page as display text. Presentation only: which rows a report holds is the report's."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.http import Http404, HttpRequest, QueryDict
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework.exceptions import ValidationError

from accounts.models import Role
from ledger.money import fen_to_yuan
from voucher_service.portal.errors import show_on_form
from voucher_service.portal.roles import roles_of
from voucher_service.programs.models import Program
from voucher_service.reports.api.params import PARAMS
from voucher_service.reports.idioms import ReportError
from voucher_service.reports.runner import build_context, report_of, validated
from voucher_service.reports.scope import ReportScope, report_scope
from voucher_service.reports.tabular import Column, Kind, Report, ReportContext

PAGE_SIZE = 50
# Query keys of the page itself, not of the report.
PAGE_KEYS = ("page", "file_format")
AS_OF_INPUT = "%Y-%m-%dT%H:%M:%S"

LABELS: dict[str, Any] = {
    "as_of": gettext_lazy("As of"),
    "year": gettext_lazy("Fiscal year"),
    "fiscal_year": gettext_lazy("Fiscal year"),
    "program": gettext_lazy("Program"),
    "entity": gettext_lazy("Entity (id)"),
    "status": gettext_lazy("Status"),
    "payer": gettext_lazy("Payer"),
    "date_from": gettext_lazy("From (date)"),
    "date_to": gettext_lazy("To (date)"),
    "action": gettext_lazy("Action"),
    "actor": gettext_lazy("Actor (username)"),
    "target_type": gettext_lazy("Record type"),
    "target_id": gettext_lazy("Record id"),
    "account": gettext_lazy("Account code"),
}
HIDDEN = ("chain_from",)  # JSON Lines only


def auditing(request: HttpRequest) -> ReportScope:
    """The auditor's scope (``reports.scope``); to anyone else the auditor's pages do not exist."""
    scope = report_scope(request.user)
    if Role.AUDITOR not in roles_of(request.user) or not scope.audits:
        raise Http404
    return scope


def program_in_scope(scope: ReportScope, program_id: int) -> Program:
    program = Program.objects.filter(pk=program_id).first()
    if program is None or not scope.covers_program(program.pk):
        raise Http404
    return program


def _choices(serializer_field: Any) -> list[tuple[str, str]]:
    return [("", "—"), *((str(key), str(label)) for key, label in serializer_field.choices.items())]


def _form_field(name: str, serializer_field: Any, scope: ReportScope) -> forms.Field:
    label = LABELS.get(name, name)
    if name == "as_of":
        widget: forms.Widget = forms.DateTimeInput(attrs={"type": "datetime-local", "step": "1"})
    elif name in ("date_from", "date_to"):
        widget = forms.DateInput(attrs={"type": "date"})
    elif name == "program":
        programs = [(str(p.pk), f"{p.code} · {p.name}") for p in scope.programs().order_by("code")]
        widget = forms.Select(choices=[("", "—"), *programs])
    elif hasattr(serializer_field, "choices"):
        widget = forms.Select(choices=_choices(serializer_field))
    elif name in ("entity", "year", "fiscal_year"):
        widget = forms.NumberInput(attrs={"min": "1"})
    else:
        widget = forms.TextInput()
    return forms.CharField(label=label, required=False, widget=widget)


def filter_form(report: Report, scope: ReportScope, query: QueryDict | dict[str, Any]) -> forms.Form:
    """A form of the report's parameters, bound to what was sent; every field is text, the API's serializer
    judges them (``read_report``)."""
    form = forms.Form(data=query)
    for name, serializer_field in PARAMS[report.name]().fields.items():
        if name not in HIDDEN:
            form.fields[name] = _form_field(name, serializer_field, scope)
    form.full_clean()
    return form


def report_query(query: QueryDict, report: Report) -> dict[str, str]:
    """The report's parameters as sent, without the empty ones (an empty input means "not filtered")."""
    names = PARAMS[report.name]().fields.keys()
    return {name: value.strip() for name in names if (value := query.get(name, "")) and value.strip()}


@dataclass
class Reading:
    """A report read for a page: its form (with its errors, if any), and the context when the query was valid."""

    report: Report
    form: forms.Form
    params: dict[str, str]
    context: ReportContext | None = None
    program: Program | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def as_of_query(self) -> dict[str, str]:
        """The parameters with the moment pinned: the links of the page read the same report."""
        if self.context is None:
            return dict(self.params)
        return {**self.params, "as_of": self.context.as_of.isoformat()}

    def link(self, **more: Any) -> str:
        return urlencode({**self.as_of_query, **{k: v for k, v in more.items() if v is not None}})


def _show_errors(form: forms.Form, detail: Any) -> None:
    items = detail.items() if isinstance(detail, dict) else [(None, detail)]
    for name, messages in items:
        target = name if name in form.fields else None
        for message in messages if isinstance(messages, list) else [messages]:
            form.add_error(target, str(message))


def read_report(request: HttpRequest, scope: ReportScope, name: str, program: Program | None = None) -> Reading:
    """Validate the page's query as the API does and build the report's context, or keep the refusal on the form."""
    report = report_of(name)
    params = report_query(request.GET, report)
    form = filter_form(report, scope, request.GET)
    reading = Reading(report, form, params, program=program)
    try:
        values = validated(report, params)
        reading.context = build_context(report, request.user, scope, values, program)
    except ValidationError as exc:
        _show_errors(form, exc.detail)
    except ReportError as exc:
        show_on_form(form, exc)
    if reading.context is not None and not params.get("as_of"):
        sent = {key: form.data.get(key) for key in form.data}  # one value each (a QueryDict holds lists)
        form.data = {**sent, "as_of": timezone.localtime(reading.context.as_of).strftime(AS_OF_INPUT)}
    return reading


# --- Cells ------------------------------------------------------------------------------------------------------


def cell_text(kind: Kind, value: Any) -> str:
    """A cell as the page shows it (money in yuan, moments in local time); the files have their own forms."""
    if value is None:
        return ""
    if kind == Kind.MONEY:
        return fen_to_yuan(int(value))
    if kind == Kind.DATETIME:
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S")
    if kind == Kind.DATE:
        return value.isoformat()
    if kind == Kind.BOOL:
        return _("yes") if value else _("no")
    if kind == Kind.JSON:
        return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(", ", ": "))
    return str(value)


def display_rows(columns: tuple[Column, ...], rows: list[tuple[Any, ...]]) -> list[list[dict[str, Any]]]:
    return [
        [
            {"key": column.key, "text": cell_text(column.kind, value), "money": column.kind == Kind.MONEY}
            for column, value in zip(columns, row, strict=True)
        ]
        for row in rows
    ]


@dataclass
class Page:
    rows: list[tuple[Any, ...]]
    count: int
    number: int
    pages: int

    @property
    def first_row(self) -> int:
        return (self.number - 1) * PAGE_SIZE + 1 if self.count else 0

    @property
    def last_row(self) -> int:
        return min(self.number * PAGE_SIZE, self.count)


def page_of(request: HttpRequest, report: Report, context: ReportContext) -> Page:
    try:
        number = max(1, int(request.GET.get("page", "1")))
    except ValueError:
        number = 1
    count = report.count(context)
    pages = max(1, -(-count // PAGE_SIZE))
    number = min(number, pages)
    return Page(report.page(context, (number - 1) * PAGE_SIZE, PAGE_SIZE), count, number, pages)


def _as_mapping(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    return value if isinstance(value, dict) else {"": value}


def audit_events_view(columns: tuple[Column, ...], rows: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    """The audit log's rows as events, each with its changes: every field named before or after, side by side."""
    events = []
    for row in rows:
        event = dict(zip((column.key for column in columns), row, strict=True))
        before, after = _as_mapping(event["before"]), _as_mapping(event["after"])
        changes = [
            (
                name,
                cell_text(Kind.JSON, before[name]) if name in before else "—",
                cell_text(Kind.JSON, after[name]) if name in after else "—",
            )
            for name in sorted(set(before) | set(after))
        ]
        detail = event["detail"] if event["detail"] else None
        events.append(
            {
                **event,
                "occurred_at": cell_text(Kind.DATETIME, event["occurred_at"]),
                "changes": changes,
                "detail": cell_text(Kind.JSON, detail) if detail is not None else "",
            }
        )
    return events
