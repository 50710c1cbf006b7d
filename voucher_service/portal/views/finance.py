"""Finance pages: the payable claims of the agency's programs, and the form that records a payout (date, bank
reference). The form carries an Idempotency-Key (``portal.idempotency``), so a double click or a reload records
one payout; the ledger posts it in a task, and the claim's page shows the split by payer. The form is offered
only to someone ``payout_request`` would accept (``payout.payout_refusal``); the service checks again when it is
sent. A finance user who owes a second factor gives it first (``portal.two_factor``)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from ledger.money import fen_to_yuan
from voucher_service.claims import selectors as claim_selectors
from voucher_service.claims import services as claim_services
from voucher_service.claims.models import Claim, Payout
from voucher_service.claims.payout import payout_refusal
from voucher_service.portal.agency_forms import PayoutForm
from voucher_service.portal.idempotency import submit_once
from voucher_service.portal.two_factor import finance_second_factor, is_finance

PAYERS = {
    "program": gettext_lazy("the program's own government"),
    "province": gettext_lazy("the province"),
    "city": gettext_lazy("the city"),
    "district": gettext_lazy("the district"),
    "county": gettext_lazy("the county"),
}


def _require_finance(request: HttpRequest) -> None:
    if not is_finance(request.user):
        raise Http404


def payout_split(payout: Payout | None) -> dict[str, Any] | None:
    """A payout as the pages show it: its amount and each payer's share, in yuan."""
    if payout is None:
        return None
    return {
        "payout": payout,
        "amount": fen_to_yuan(payout.amount),
        "shares": [
            {"payer": payer, "label": PAYERS.get(payer, payer), "amount": fen_to_yuan(part)}
            for payer, part in payout.shares
        ],
    }


@login_required
@finance_second_factor
@require_GET
def payout_list(request: HttpRequest) -> HttpResponse:
    _require_finance(request)
    rows = [
        {
            "claim": claim,
            "amount": fen_to_yuan(claim.approved_amount or 0),
            "refusal": payout_refusal(request.user, claim),
        }
        for claim in claim_selectors.payable_claims_visible_to(request.user)
    ]
    return render(request, "portal/payouts.html", {"rows": rows})


def _record(request: HttpRequest, form: PayoutForm, claim: Claim) -> HttpResponse | None:
    data = form.cleaned_data

    def operation() -> str:
        claim_services.payout_request(
            actor=request.user, claim=claim, paid_on=data["paid_on"], bank_reference=data["bank_reference"]
        )
        messages.success(request, _("The payout of claim %(id)d was recorded.") % {"id": claim.pk})
        return reverse("portal:review", args=[claim.pk])

    return submit_once(request, form, operation)


@login_required
@finance_second_factor
@require_http_methods(["GET", "POST"])
def payout_record(request: HttpRequest, pk: int) -> HttpResponse:
    _require_finance(request)
    claim = get_object_or_404(claim_selectors.claims_visible_to(request.user), pk=pk)
    form = PayoutForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            answer = _record(request, form, claim)
            if answer is not None:
                return answer
    context = {
        "claim": claim,
        "form": form,
        "refusal": payout_refusal(request.user, claim),
        "approved": fen_to_yuan(claim.approved_amount) if claim.approved_amount is not None else None,
        "split": payout_split(claim_selectors.claim_payout(claim)),
    }
    return render(request, "portal/payout.html", context, status=status)
