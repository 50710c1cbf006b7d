"""Applicant pages: home (vouchers and claims), applying to a program with the eligibility answer first, and one
claim's page (its evaluation, history, evidence uploads, submission, withdrawal). Filing and correcting a claim
step by step is ``applicant_claims``."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ledger.money import fen_to_yuan
from voucher_service.claims import selectors as claim_selectors
from voucher_service.claims import services as claim_services
from voucher_service.portal.claim_words import awaiting_in_words, breakdown_in_words, history_in_words
from voucher_service.portal.errors import SERVICE_ERRORS, show_on_form
from voucher_service.portal.forms import (
    EVIDENCE_KINDS,
    ApplyForm,
    EvidenceForm,
    SubmitClaimForm,
    WithdrawForm,
)
from voucher_service.portal.idempotency import Refused, Replayed, run_once, submit_once
from voucher_service.portal.roles import own_entities
from voucher_service.programs.budgets import current_fiscal_year
from voucher_service.programs.selectors import programs_public
from voucher_service.vouchers import services as voucher_services
from voucher_service.vouchers.eligibility import eligibility_check
from voucher_service.vouchers.selectors import applications_visible_to, voucher_balance, vouchers_visible_to

KIND_LABELS = {kind.value: label for kind, label in EVIDENCE_KINDS.items()}


def _require_applicant(request: HttpRequest) -> list[tuple[int, str]]:
    entities = [(org.pk, org.name) for org in own_entities(request.user)]
    if not entities:
        raise Http404
    return entities


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    _require_applicant(request)
    today = timezone.localdate()
    vouchers = []
    for voucher in vouchers_visible_to(request.user).select_related("program", "account").order_by("valid_until"):
        vouchers.append(
            {
                "voucher": voucher,
                "balance": fen_to_yuan(voucher_balance(voucher)["balance"]),
                "days_left": max((voucher.valid_until - today).days, 0),
            }
        )
    claims = [
        {"claim": claim, "awaiting": awaiting_in_words(claim_selectors.claim_awaiting(claim), applicant=True)}
        for claim in claim_selectors.claims_visible_to(request.user)
        .filter(entity__in=own_entities(request.user))
        .select_related("program__issuing_agency", "program_version")
        .order_by("-pk")[:50]
    ]
    context = {
        "vouchers": vouchers,
        "claims": claims,
        "applications": applications_visible_to(request.user).select_related("program").order_by("-pk")[:20],
        "programs": programs_public(today),
    }
    return render(request, "portal/applicant_home.html", context)


def _program(program_id: int):
    return get_object_or_404(programs_public(timezone.localdate()), pk=program_id)


def _eligibility(form: ApplyForm, program: Any, user: Any) -> Any:
    entity = own_entities(user).get(pk=form.cleaned_data["entity"])
    return eligibility_check(
        program=program,
        entity=entity,
        amount=form.cleaned_data["amount"],
        year=current_fiscal_year(),
        on=timezone.localdate(),
    )


@login_required
@require_http_methods(["GET", "POST"])
def apply(request: HttpRequest, program_id: int) -> HttpResponse:
    entities = _require_applicant(request)
    program = _program(program_id)
    form = ApplyForm(request.POST or None, entities=entities)
    report, status = None, 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            report = _eligibility(form, program, request.user)
            entity = own_entities(request.user).get(pk=form.cleaned_data["entity"])

            def submit() -> str:
                voucher_services.application_submit(
                    actor=request.user,
                    program=program,
                    entity=entity,
                    amount=form.cleaned_data["amount"],
                    purpose=form.cleaned_data["purpose"],
                )
                return reverse("portal:applicant-home")

            try:
                location = run_once(request, submit)
            except Replayed as replay:
                return redirect(replay.location)
            except Refused as exc:
                form.add_error(None, str(exc))
            except SERVICE_ERRORS as exc:
                show_on_form(form, exc)
            else:
                messages.success(request, _("Your application was submitted. The agency will decide on it."))
                return redirect(location)
    context = {"program": program, "form": form, "report": report}
    return render(request, "portal/apply.html", context, status=status)


@login_required
@require_POST
def apply_check(request: HttpRequest, program_id: int) -> HttpResponse:
    """htmx: the eligibility answer for what the form says now, before anything is submitted."""
    entities = _require_applicant(request)
    program = _program(program_id)
    form = ApplyForm(request.POST, entities=entities)
    report = _eligibility(form, program, request.user) if form.is_valid() else None
    return render(request, "portal/_eligibility.html", {"report": report, "form": form})


# --- One claim --------------------------------------------------------------------------------------------------


def _own_claim(request: HttpRequest, pk: int) -> Any:
    _require_applicant(request)
    return get_object_or_404(
        claim_selectors.claims_visible_to(request.user)
        .filter(entity__in=own_entities(request.user))
        .select_related("program__issuing_agency", "entity", "provider"),
        pk=pk,
    )


def _claim_page(request: HttpRequest, claim: Any, status: int = 200, **forms_: Any) -> HttpResponse:
    evaluation = claim_selectors.claim_latest_evaluation(claim)
    context = {
        "claim": claim,
        "awaiting_words": awaiting_in_words(claim_selectors.claim_awaiting(claim), applicant=True),
        "editable": claim_selectors.claim_is_editable(claim),
        "return_request": claim_selectors.claim_return_request(claim),
        "evaluation": evaluation,
        "breakdown": breakdown_in_words(evaluation) if evaluation is not None else None,
        "evidence": [(item, KIND_LABELS.get(item.kind, item.kind)) for item in claim_selectors.claim_evidence(claim)],
        "history_words": history_in_words(claim_selectors.claim_history(claim)),
        "invoices": [(line, fen_to_yuan(line.amount)) for line in claim_selectors.claim_invoices(claim)],
        "payments": [(line, fen_to_yuan(line.amount)) for line in claim_selectors.claim_payments(claim)],
        "evidence_form": forms_.get("evidence_form") or EvidenceForm(),
        "submit_form": forms_.get("submit_form") or SubmitClaimForm(),
        "withdraw_form": forms_.get("withdraw_form") or WithdrawForm(),
        "contract_amount": fen_to_yuan(claim.contract_amount),
        "approved": fen_to_yuan(claim.approved_amount) if claim.approved_amount is not None else None,
        "subsidy": fen_to_yuan(claim.subsidy) if claim.subsidy is not None else None,
    }
    return render(request, "portal/claim.html", context, status=status)


@login_required
@require_GET
def claim_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _claim_page(request, _own_claim(request, pk))


@login_required
@require_POST
def claim_evidence(request: HttpRequest, pk: int) -> HttpResponse:
    claim = _own_claim(request, pk)
    form = EvidenceForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            claim_services.evidence_upload(
                actor=request.user, claim=claim, kind=form.cleaned_data["kind"], upload=form.cleaned_data["file"]
            )
        except SERVICE_ERRORS as exc:
            show_on_form(form, exc, {"file": "file", "kind": "kind"})
        else:
            messages.success(request, _("The file was uploaded."))
            return redirect("portal:claim", pk=claim.pk)
    return _claim_page(request, claim, status=400, evidence_form=form)


def _claim_action(request: HttpRequest, claim: Any, form: forms.Form, name: str, operation: Any) -> HttpResponse:
    if form.is_valid():
        response = submit_once(request, form, operation)
        if response is not None:
            return response
    return _claim_page(request, claim, status=400, **{name: form})


@login_required
@require_POST
def claim_submit(request: HttpRequest, pk: int) -> HttpResponse:
    claim = _own_claim(request, pk)

    def operation() -> str:
        claim_services.claim_submit(actor=request.user, claim=claim)
        messages.success(request, _("The claim was submitted; the automatic checks run now."))
        return reverse("portal:claim", args=[claim.pk])

    return _claim_action(request, claim, SubmitClaimForm(request.POST), "submit_form", operation)


@login_required
@require_POST
def claim_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    claim = _own_claim(request, pk)
    form = WithdrawForm(request.POST)

    def operation() -> str:
        claim_services.claim_withdraw(actor=request.user, claim=claim, reason=form.cleaned_data["reason"])
        messages.success(request, _("The claim was withdrawn."))
        return reverse("portal:claim", args=[claim.pk])

    return _claim_action(request, claim, form, "withdraw_form", operation)
