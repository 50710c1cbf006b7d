"""Agency pages: the pending voucher applications (申领) of the agency's programs with their eligibility answer,
and the decision: approve (the voucher is issued, as ``POST /api/v1/applications/{id}/approve/`` does) or reject
with a reason. The form is offered only to someone the services would accept
(``vouchers.services.application_decision_refusal``); they check again when it is sent."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from ledger.money import fen_to_yuan
from voucher_service.portal.agency_forms import ApplicationDecisionForm
from voucher_service.portal.idempotency import submit_once
from voucher_service.portal.roles import AGENCY_WORK, roles_of
from voucher_service.vouchers import selectors as voucher_selectors
from voucher_service.vouchers import services as voucher_services
from voucher_service.vouchers.eligibility import eligibility_check
from voucher_service.vouchers.models import VoucherApplication


def _require_agency(request: HttpRequest) -> None:
    if not roles_of(request.user) & AGENCY_WORK:
        raise Http404


@login_required
@require_GET
def application_list(request: HttpRequest) -> HttpResponse:
    _require_agency(request)
    rows = [
        {
            "application": application,
            "amount": fen_to_yuan(application.requested_amount),
            "eligible": all(check.get("ok") for check in application.eligibility),
            "refusal": voucher_services.application_decision_refusal(request.user, application),
        }
        for application in voucher_selectors.applications_to_decide_visible_to(request.user)
    ]
    return render(request, "portal/applications.html", {"rows": rows})


def _decide(request: HttpRequest, form: ApplicationDecisionForm, application: VoucherApplication) -> str:
    data = form.cleaned_data
    if data["decision"] == "approve":
        voucher_services.application_approve(actor=request.user, application=application, amount=data["amount"])
        messages.success(
            request, _("Application %(id)d was approved; the voucher is being issued.") % {"id": application.pk}
        )
    else:
        voucher_services.application_reject(actor=request.user, application=application, reason=data["reason"])
        messages.success(request, _("Application %(id)d was rejected.") % {"id": application.pk})
    return reverse("portal:applications")


def _context(request: HttpRequest, application: VoucherApplication, form: ApplicationDecisionForm) -> dict[str, Any]:
    now = eligibility_check(
        program=application.program,
        entity=application.entity,
        amount=application.requested_amount,
        year=application.fiscal_year,
        on=timezone.localdate(),
        award_code=application.award_code,
    )
    return {
        "application": application,
        "form": form,
        "refusal": voucher_services.application_decision_refusal(request.user, application),
        "requested": fen_to_yuan(application.requested_amount),
        "approved": fen_to_yuan(application.approved_amount) if application.approved_amount is not None else None,
        "at_submission": application.eligibility,
        "report": now,
    }


@login_required
@require_http_methods(["GET", "POST"])
def application_decide(request: HttpRequest, pk: int) -> HttpResponse:
    _require_agency(request)
    application = get_object_or_404(voucher_selectors.applications_visible_to(request.user), pk=pk)
    form = ApplicationDecisionForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            response = submit_once(request, form, lambda: _decide(request, form, application))
            if response is not None:
                return response
    return render(request, "portal/application_decide.html", _context(request, application, form), status=status)
