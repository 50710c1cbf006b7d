"""The auditor's home: the programs they audit, with links to each report (the reports API, as of a moment)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts.models import Role
from voucher_service.portal.roles import roles_of
from voucher_service.programs.budgets import current_fiscal_year
from voucher_service.reports.scope import report_scope


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    scope = report_scope(request.user)
    if Role.AUDITOR not in roles_of(request.user) or not scope.audits:
        raise Http404
    as_of = request.GET.get("as_of", "")
    context = {
        "programs": scope.programs().order_by("code"),
        "year": current_fiscal_year(),
        "as_of": as_of,
    }
    return render(request, "portal/auditor_home.html", context)
