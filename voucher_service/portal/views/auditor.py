"""The auditor's home: the programs they audit, with each one's reports as of a moment, the registers, the ledger's
chain head and verification, the audit log and spot checks (their pages: ``audit_reports``, ``audit_ledger``)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from ledger.history import chain_head_at
from voucher_service.portal.audit_query import auditing
from voucher_service.portal.views.audit_reports import REGISTERS
from voucher_service.programs.budgets import current_fiscal_year


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    scope = auditing(request)
    context = {
        "programs": scope.programs().order_by("code"),
        "year": current_fiscal_year(),
        "registers": [(name, title) for name, title in REGISTERS.items() if name not in ("audit-log", "journal")],
        "head": chain_head_at(),
    }
    return render(request, "portal/auditor_home.html", context)
