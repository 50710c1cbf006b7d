"""Applicant pages: home (vouchers and claims), applying to a program with the eligibility answer first, and
filing a claim step by step (purchase, invoice, payment, delivery, then evidence and submission)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.datastructures import MultiValueDict
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ledger.money import fen_to_yuan
from voucher_service.claims import selectors as claim_selectors
from voucher_service.claims import services as claim_services
from voucher_service.portal.errors import SERVICE_ERRORS, show_on_form
from voucher_service.portal.forms import (
    CLAIM_PATHS,
    CLAIM_STEPS,
    ApplyForm,
    CreateClaimForm,
    EvidenceForm,
    SubmitClaimForm,
    WithdrawForm,
)
from voucher_service.portal.idempotency import Refused, Replayed, run_once
from voucher_service.portal.roles import own_entities
from voucher_service.programs.budgets import current_fiscal_year
from voucher_service.programs.selectors import program_rules, programs_public, providers_visible_to
from voucher_service.vouchers import services as voucher_services
from voucher_service.vouchers.eligibility import eligibility_check
from voucher_service.vouchers.selectors import applications_visible_to, voucher_balance, vouchers_visible_to


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
        {"claim": claim, "awaiting": claim_selectors.claim_awaiting(claim)}
        for claim in claim_selectors.claims_visible_to(request.user)
        .select_related("program", "program_version")
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


# --- A new claim, step by step ----------------------------------------------------------------------------------

SESSION_KEY = "portal_claim_steps"


def _step_form(slug: str, data: Any, request: HttpRequest, entities: list, program: Any) -> forms.Form:
    form_class: Any = {step: cls for step, _title, cls in CLAIM_STEPS}[slug]
    if slug == "purchase":
        providers = [(row.organization_id, row.organization.name) for row in _providers(request.user)]
        rules = program_rules(program)
        conditions = [(r.condition.code, r.condition.description) for r in (rules.rate_rules if rules else ())]
        return form_class(data, entities=entities, providers=providers, conditions=conditions)
    return form_class(data)


def _saved(saved: dict[str, dict[str, list[str]]], step: str) -> MultiValueDict | None:
    """A step's answers as kept in the session, as form data again (None: not answered yet)."""
    return MultiValueDict(saved[step]) if step in saved else None


def _providers(user: Any) -> Any:
    return providers_visible_to(user).select_related("organization").order_by("organization__name")


def _claim_data(cleaned: dict[str, Any], user: Any) -> tuple[Any, dict[str, Any]]:
    """The steps' answers in the shape the claims service takes."""
    entity = own_entities(user).get(pk=cleaned["entity"])
    provider = _providers(user).get(organization_id=cleaned["provider"]).organization
    data = {
        "provider": provider,
        "contract": {k: cleaned[f"contract_{k}"] for k in ("number", "signed_on", "amount", "starts_on", "ends_on")},
        "invoices": [
            {k: cleaned[f"invoice_{k}"] for k in ("issuer_uscc", "code", "number", "issued_on", "amount")},
        ],
        "payments": [{k: cleaned[f"payment_{k}"] for k in ("bank_reference", "paid_on", "amount")}],
        "delivery": {
            "starts_on": cleaned["delivery_starts_on"],
            "ends_on": cleaned["delivery_ends_on"],
            "service_type": cleaned["delivery_service_type"],
            "quantity": cleaned["delivery_quantity"],
            "unit": cleaned["delivery_unit"],
        },
        "conditions": list(cleaned["conditions"]),
        "declaration_accepted": True,
    }
    return entity, data


@login_required
@require_http_methods(["GET", "POST"])
def claim_step(request: HttpRequest, program_id: int, step: str) -> HttpResponse:
    entities = _require_applicant(request)
    program = _program(program_id)
    slugs = [slug for slug, _title, _cls in CLAIM_STEPS]
    if step not in [*slugs, "review"]:
        raise Http404
    saved: dict[str, dict[str, Any]] = request.session.get(SESSION_KEY, {}).get(str(program_id), {})
    steps = [{"slug": slug, "title": title, "done": slug in saved} for slug, title, _cls in CLAIM_STEPS]
    if step != "review":
        form = _step_form(step, request.POST or _saved(saved, step), request, entities, program)
        if request.method == "POST" and form.is_valid():
            everything = request.session.setdefault(SESSION_KEY, {})
            everything.setdefault(str(program_id), {})[step] = {k: request.POST.getlist(k) for k in form.fields}
            request.session.modified = True
            following = slugs[slugs.index(step) + 1] if step != slugs[-1] else "review"
            return redirect("portal:claim-step", program_id=program_id, step=following)
        context = {"program": program, "form": form, "step": step, "steps": steps}
        return render(request, "portal/claim_step.html", context, status=400 if form.errors else 200)
    return _claim_review_step(request, program, saved, steps, entities)


def _claim_review_step(
    request: HttpRequest, program: Any, saved: dict[str, dict[str, Any]], steps: list, entities: list
) -> HttpResponse:
    cleaned: dict[str, Any] = {}
    for slug, _title, _cls in CLAIM_STEPS:
        form = _step_form(slug, _saved(saved, slug), request, entities, program)
        if not form.is_valid():
            return redirect("portal:claim-step", program_id=program.pk, step=slug)
        cleaned |= form.cleaned_data
    create = CreateClaimForm(request.POST or None)
    if request.method == "POST" and create.is_valid():
        entity, data = _claim_data(cleaned, request.user)

        def operation() -> str:
            claim = claim_services.claim_create(actor=request.user, entity=entity, program=program, data=data)
            return reverse("portal:claim", args=[claim.pk])

        try:
            location = run_once(request, operation)
        except Replayed as replay:
            return redirect(replay.location)
        except Refused as exc:
            create.add_error(None, str(exc))
        except SERVICE_ERRORS as exc:
            show_on_form(create, exc, {})
            _note_step_errors(create, exc)
        else:
            request.session.get(SESSION_KEY, {}).pop(str(program.pk), None)
            request.session.modified = True
            messages.success(request, _("The draft claim was created. Upload the evidence, then submit it."))
            return redirect(location)
    context = {"program": program, "steps": steps, "step": "review", "cleaned": cleaned, "form": create}
    return render(request, "portal/claim_step.html", context, status=400 if create.errors else 200)


def _note_step_errors(form: forms.Form, exc: Exception) -> None:
    """Say which step each refused field is on, so the applicant knows where to go back to."""
    for path in getattr(exc, "fields", None) or {}:
        target = CLAIM_PATHS.get(path)
        for _slug, title, cls in CLAIM_STEPS:
            if target in cls.base_fields:
                form.add_error(None, _("Step “%(step)s”: %(field)s") % {"step": title, "field": path})


# --- One claim --------------------------------------------------------------------------------------------------


def _own_claim(request: HttpRequest, pk: int) -> Any:
    _require_applicant(request)
    return get_object_or_404(
        claim_selectors.claims_visible_to(request.user).select_related("program", "entity", "provider"), pk=pk
    )


def _claim_page(request: HttpRequest, claim: Any, status: int = 200, **forms_: Any) -> HttpResponse:
    context = {
        "claim": claim,
        "awaiting": claim_selectors.claim_awaiting(claim),
        "evaluation": claim_selectors.claim_latest_evaluation(claim),
        "evidence": claim_selectors.claim_evidence(claim),
        "history": claim_selectors.claim_history(claim),
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
        try:
            location = run_once(request, operation)
        except Replayed as replay:
            return redirect(replay.location)
        except Refused as exc:
            form.add_error(None, str(exc))
        except SERVICE_ERRORS as exc:
            show_on_form(form, exc)
        else:
            return redirect(location)
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
