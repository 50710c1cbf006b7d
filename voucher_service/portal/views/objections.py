"""Agency pages: the open objections (异议) to the claims of the agency's programs, and the form that resolves one
(uphold: reject the claim or lower its amount; dismiss: the notice goes on). The form is offered only to someone
``objection_resolve`` would accept (``notice.objection_refusal``); the service checks again when it is sent."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from ledger.money import fen_to_yuan
from voucher_service.claims import selectors as claim_selectors
from voucher_service.claims import services as claim_services
from voucher_service.claims.notice import objection_refusal
from voucher_service.portal.agency_forms import ResolveObjectionForm
from voucher_service.portal.idempotency import submit_once
from voucher_service.portal.roles import AGENCY_WORK, roles_of


def _require_agency(request: HttpRequest) -> None:
    if not roles_of(request.user) & AGENCY_WORK:
        raise Http404


@login_required
@require_GET
def objection_list(request: HttpRequest) -> HttpResponse:
    _require_agency(request)
    rows = [
        {"objection": objection, "refusal": objection_refusal(request.user, objection)}
        for objection in claim_selectors.objections_open_visible_to(request.user)
    ]
    return render(request, "portal/objections.html", {"rows": rows})


@login_required
@require_http_methods(["GET", "POST"])
def objection_resolve(request: HttpRequest, pk: int) -> HttpResponse:
    _require_agency(request)
    objection = get_object_or_404(
        claim_selectors.objections_visible_to(request.user).select_related(
            "claim__program", "claim__entity", "claim__provider"
        ),
        pk=pk,
    )
    claim = objection.claim
    form = ResolveObjectionForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data

            def operation() -> str:
                claim_services.objection_resolve(
                    actor=request.user,
                    objection=objection,
                    outcome=data["outcome"],
                    reason=data["reason"],
                    amount=data["amount"],
                )
                messages.success(request, _("Objection %(id)d was resolved.") % {"id": objection.pk})
                return reverse("portal:objections")

            response = submit_once(request, form, operation)
            if response is not None:
                return response
    context = {
        "objection": objection,
        "claim": claim,
        "refusal": objection_refusal(request.user, objection),
        "form": form,
        "approved": fen_to_yuan(claim.approved_amount) if claim.approved_amount is not None else None,
        "lowered_to": fen_to_yuan(objection.lowered_to) if objection.lowered_to is not None else None,
    }
    return render(request, "portal/objection_resolve.html", context, status=status)
