"""The program administrator's pages: their agency's programs with versions and windows, a program's page, and
the budget dashboard of a program-year with its burn-down chart (drawn on the server as SVG).

Every page is for program administrators only (anyone else: 404), and a program is one their agency issues
(``programs_managed_by``). The figures are the budget statement's (``reports.statements``), read from the ledger.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from accounts.models import Role
from ledger.money import fen_to_yuan
from voucher_service.portal.charts import burndown_chart
from voucher_service.portal.plain import rules_in_words
from voucher_service.portal.roles import roles_of
from voucher_service.programs.models import Program, ProgramStatus
from voucher_service.programs.selectors import (
    budget_for,
    current_fiscal_year,
    program_budget_figures,
    program_current_version,
    program_latest_version,
    programs_managed_by,
)
from voucher_service.reports.burndown import FIGURES, budget_burndown, burndown_moments, statement_point
from voucher_service.reports.statements import budget_statement


def require_program_admin(request: HttpRequest) -> None:
    if Role.PROGRAM_ADMIN not in roles_of(request.user):
        raise Http404


def managed_program(request: HttpRequest, pk: int) -> Program:
    require_program_admin(request)
    return get_object_or_404(programs_managed_by(request.user), pk=pk)


def _program_row(program: Program, today: Any) -> dict[str, Any]:
    current = program_current_version(program)
    latest = program_latest_version(program)
    return {
        "program": program,
        "status": ProgramStatus(program.status_on(today)).label,
        "current": current,
        "draft": latest if latest is not None and not latest.is_published else None,
        "extensions": len(program.extensions.all()),
    }


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    require_program_admin(request)
    today = timezone.localdate()
    rows = [_program_row(program, today) for program in programs_managed_by(request.user)]
    return render(request, "portal/manage_home.html", {"rows": rows, "year": current_fiscal_year()})


def _version_row(version: Any) -> dict[str, Any]:
    rules = version.parsed()
    return {
        "version": version,
        "cap": fen_to_yuan(rules.annual_cap) if rules.annual_cap is not None else None,
        "claim_windows": [window.text() for window in rules.claim_windows],
        "grace_days": rules.claim_grace_days,
    }


@login_required
@require_GET
def program_detail(request: HttpRequest, pk: int) -> HttpResponse:
    program = managed_program(request, pk)
    current = program_current_version(program)
    rules = current.parsed() if current is not None else None
    budgets = [
        {"year": f.year, **{key: fen_to_yuan(getattr(f, key)) for key in ("cap", "issued", "remaining")}}
        for f in program_budget_figures(program)
    ]
    context = {
        "program": program,
        "status": ProgramStatus(program.status_on(timezone.localdate())).label,
        "current": current,
        "rules": rules_in_words(rules) if rules is not None else [],
        "claim_windows": [window.text() for window in rules.claim_windows] if rules is not None else [],
        "grace_days": rules.claim_grace_days if rules is not None else None,
        "versions": [_version_row(v) for v in program.versions.order_by("-number")],
        "extensions": program.extensions.order_by("-id"),
        "budgets": budgets,
    }
    return render(request, "portal/manage_program.html", context)


@login_required
@require_GET
def budget_dashboard(request: HttpRequest, pk: int, year: int) -> HttpResponse:
    program = managed_program(request, pk)
    budget = budget_for(program, year)
    if budget is None:
        raise Http404
    now = timezone.now()
    statement = budget_statement(budget, now)
    points = [*budget_burndown(budget, burndown_moments(budget, now)[:-1]), statement_point(statement)]
    figures = [(key, statement.figures[key].label, fen_to_yuan(statement.figures[key].amount)) for key in FIGURES]
    context = {
        "program": program,
        "year": year,
        "figures": figures,
        "payers": [(payer, fen_to_yuan(paid.amount)) for payer, paid, _clawed in statement.payers],
        "identities": statement.identities,
        "chart": burndown_chart(points),
        "as_of": now,
    }
    return render(request, "portal/manage_budget.html", context)
