"""Agency pages: the review work queue per stage, and a claim's review page with the decision form. The form is
offered only to someone the decide service would accept (``claims.review.decision_refusal``); the service checks
again when it is sent, so a forged POST is refused all the same."""

from __future__ import annotations

from collections import Counter
from typing import Any

from django import forms
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
from voucher_service.claims.review import decision_refusal
from voucher_service.portal.forms import DecideForm
from voucher_service.portal.idempotency import submit_once
from voucher_service.portal.roles import AGENCY_WORK, roles_of
from voucher_service.portal.views.finance import payout_split


def _require_agency(request: HttpRequest) -> None:
    if not roles_of(request.user) & AGENCY_WORK:
        raise Http404


@login_required
@require_GET
def queue(request: HttpRequest) -> HttpResponse:
    _require_agency(request)
    rows: list[dict[str, Any]] = []
    for claim in claim_selectors.review_queue(request.user):
        current = claim_selectors.claim_current_stage(claim)
        rows.append(
            {"claim": claim, "stage": current.name if current else "", "refusal": decision_refusal(request.user, claim)}
        )
    counts = Counter(row["stage"] for row in rows)
    stage, search, mine = request.GET.get("stage", ""), request.GET.get("q", "").strip(), request.GET.get("mine")
    if stage:
        rows = [row for row in rows if row["stage"] == stage]
    if search:
        rows = [row for row in rows if search in row["claim"].entity.name or search == str(row["claim"].pk)]
    if mine:
        rows = [row for row in rows if row["refusal"] is None]
    context = {"rows": rows, "counts": sorted(counts.items()), "stage": stage, "q": search, "mine": mine}
    return render(request, "portal/queue.html", context)


def _condition_fields(form: DecideForm, claim: Any) -> list[str]:
    """At the first stage, a verdict on each reviewer-checked condition the claim asks for."""
    if claim.stage_index != 0 or claim.program_version is None:
        return []
    reviewer = claim.program_version.parsed().reviewer_conditions()
    codes = [code for code in claim.conditions if code in reviewer]
    for code in codes:
        form.fields[f"condition_{code}"] = forms.TypedChoiceField(
            label=_("Condition %(code)s") % {"code": code},
            choices=[("yes", _("Confirmed")), ("no", _("Denied"))],
            initial="yes",
            widget=forms.RadioSelect,
        )
        form.fields[f"condition_{code}_reason"] = forms.CharField(
            label=_("Why (for a denial)"), max_length=1000, required=False
        )
    return codes


@login_required
@require_http_methods(["GET", "POST"])
def claim_review(request: HttpRequest, pk: int) -> HttpResponse:
    _require_agency(request)
    claim = get_object_or_404(
        claim_selectors.claims_visible_to(request.user).select_related(
            "program", "entity", "provider", "program_version"
        ),
        pk=pk,
    )
    form = DecideForm(request.POST or None)
    codes = _condition_fields(form, claim)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            conditions = None
            if data["decision"] == "approve" and codes:
                conditions = [
                    {
                        "code": code,
                        "confirmed": data[f"condition_{code}"] == "yes",
                        "reason": data[f"condition_{code}_reason"],
                    }
                    for code in codes
                ]

            def operation() -> str:
                claim_services.claim_decide(
                    actor=request.user,
                    claim=claim,
                    decision=data["decision"],
                    amount=data["amount"],
                    reason=data["reason"],
                    conditions=conditions,
                )
                messages.success(request, _("Your decision on claim %(id)d was recorded.") % {"id": claim.pk})
                return reverse("portal:work-queue")

            response = submit_once(request, form, operation)
            if response is not None:
                return response
    stage = claim_selectors.claim_current_stage(claim)
    context = {
        "claim": claim,
        "stage": stage,
        "refusal": decision_refusal(request.user, claim),
        "form": form,
        "evaluation": claim_selectors.claim_latest_evaluation(claim),
        "evidence": claim_selectors.claim_evidence(claim),
        "history": claim_selectors.claim_history(claim),
        "decisions": claim.decisions.select_related("decided_by").order_by("round", "stage_index"),
        "contract_amount": fen_to_yuan(claim.contract_amount),
        "approved": fen_to_yuan(claim.approved_amount) if claim.approved_amount is not None else None,
        "awaiting": claim_selectors.claim_awaiting(claim),
        "split": payout_split(claim_selectors.claim_payout(claim)),
    }
    return render(request, "portal/review.html", context, status=status)
