"""Filing a claim step by step, and correcting a returned one through the same steps: purchase, invoices (one row
each, added and removed in place), payments (likewise), delivery, then the declaration.

The steps' answers are kept in the session (what was typed, as form data) until the last step sends them to the
claims service in one call: ``claim_create`` for a new claim, ``claim_update`` for a draft or a returned one. When
the service refuses, each refusal is put back on the step, row and field it names, shown there in place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.datastructures import MultiValueDict
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from ledger.money import fen_to_yuan
from voucher_service.claims import selectors as claim_selectors
from voucher_service.claims import services as claim_services
from voucher_service.claims.drafts import MAX_LINES
from voucher_service.portal.errors import SERVICE_ERRORS
from voucher_service.portal.forms import CLAIM_PATHS, CLAIM_STEPS, ROW_PREFIXES, CreateClaimForm
from voucher_service.portal.idempotency import Refused, Replayed, run_once
from voucher_service.portal.roles import own_entities
from voucher_service.programs.selectors import program_rules, programs_public, providers_visible_to

SESSION_KEY = "portal_claim_steps"
SLUGS = [slug for slug, _title, _cls in CLAIM_STEPS]
TITLES = {slug: title for slug, title, _cls in CLAIM_STEPS}
CLASSES = {slug: cls for slug, _title, cls in CLAIM_STEPS}
IGNORED = {"csrfmiddlewaretoken", "rows"}
ERRORS = "_errors"


@dataclass
class Flow:
    """One claim being filed (``claim`` None) or corrected: where its answers are kept and where its steps are."""

    key: str
    program: Any
    entities: list[tuple[int, str]]
    claim: Any = None

    def url(self, step: str) -> str:
        if self.claim is not None:
            return reverse("portal:claim-edit", args=[self.claim.pk, step])
        return reverse("portal:claim-step", args=[self.program.pk, step])


def _entities(request: HttpRequest) -> list[tuple[int, str]]:
    entities = [(org.pk, org.name) for org in own_entities(request.user)]
    if not entities:
        raise Http404
    return entities


def _providers(user: Any) -> Any:
    return providers_visible_to(user).select_related("organization").order_by("organization__name")


def _kept(request: HttpRequest, flow: Flow) -> dict[str, Any]:
    return request.session.get(SESSION_KEY, {}).get(flow.key, {})


def _keep(request: HttpRequest, flow: Flow) -> dict[str, Any]:
    request.session.modified = True
    return request.session.setdefault(SESSION_KEY, {}).setdefault(flow.key, {})


def _forget(request: HttpRequest, flow: Flow) -> None:
    request.session.get(SESSION_KEY, {}).pop(flow.key, None)
    request.session.modified = True


def _as_data(kept: dict[str, Any], step: str) -> MultiValueDict | None:
    """A step's answers as kept in the session, as form data again (None: not answered yet)."""
    return MultiValueDict(kept[step]) if step in kept else None


def _step_form(flow: Flow, slug: str, data: Any, user: Any) -> Any:
    form_class = CLASSES[slug]
    if slug in ROW_PREFIXES:
        return form_class(data, prefix=ROW_PREFIXES[slug])
    if slug == "purchase":
        providers = [(row.organization_id, row.organization.name) for row in _providers(user)]
        rules = program_rules(flow.program)
        conditions = [(r.condition.code, r.condition.description) for r in (rules.rate_rules if rules else ())]
        return form_class(data, entities=flow.entities, providers=providers, conditions=conditions)
    return form_class(data)


def _cleaned(slug: str, form: Any) -> dict[str, Any]:
    if slug in ROW_PREFIXES:  # an added row left empty is no row
        return {ROW_PREFIXES[slug]: [row.cleaned_data for row in form.forms if row.cleaned_data]}
    return dict(form.cleaned_data)


# --- Rows added and removed in place -----------------------------------------------------------------------------


def _number(text: Any, default: int) -> int:
    try:
        return int(str(text))
    except ValueError:
        return default


def _rows(data: Any, prefix: str, action: str) -> MultiValueDict:
    """The formset's data with a row added at the end or row ``remove-<n>`` taken out (the rows after it move up),
    everything typed kept."""
    out = MultiValueDict({k: data.getlist(k) for k in data if k not in IGNORED})
    total = max(_number(out.get(f"{prefix}-TOTAL_FORMS"), 1), 1)
    if action == "add":
        total = min(total + 1, MAX_LINES)
    elif action.startswith("remove-") and total > 1:
        index = _number(action.removeprefix("remove-"), -1)
        pattern = re.compile(rf"^{re.escape(prefix)}-(\d+)-(.+)$")
        moved: MultiValueDict = MultiValueDict()
        for key in list(out):
            match = pattern.match(key)
            if match is None:
                moved.setlist(key, out.getlist(key))
            elif (row := int(match[1])) != index:
                moved.setlist(f"{prefix}-{row - 1 if row > index else row}-{match[2]}", out.getlist(key))
        out, total = moved, total - (1 if 0 <= index < total else 0)
    out.setlist(f"{prefix}-TOTAL_FORMS", [str(total)])
    out.setlist(f"{prefix}-INITIAL_FORMS", ["0"])
    return out


# --- The service's refusals, put back where they belong ----------------------------------------------------------


def _locate(path: str) -> tuple[str | None, int | None, str | None]:
    """(step, row, field) of a service's field path, e.g. ``invoices.1.amount`` → ("invoice", 1, "amount")."""
    parts = path.split(".")
    for slug, prefix in ROW_PREFIXES.items():
        if parts[0] == prefix and len(parts) == 3 and parts[1].isdigit():
            return slug, int(parts[1]), parts[2]
    if parts[0] == "conditions":
        return "purchase", None, "conditions"
    step, field = CLAIM_PATHS.get(path, (None, None))
    return step, None, field


def _refusals(exc: Exception) -> tuple[dict[str, list[list[Any]]], list[str]]:
    """A service's refusal as {step: [[row, field, message]]} and the messages no step can show."""
    by_step: dict[str, list[list[Any]]] = {}
    general: list[str] = []
    fields = getattr(exc, "fields", None) or {}
    for path, problems in fields.items():
        step, row, field = _locate(path)
        for problem in problems:
            message = str(problem.get("message", ""))
            if step is None:
                general.append(message if path in ("", "__all__", "non_field_errors") else f"{path}: {message}")
            else:
                by_step.setdefault(step, []).append([row, field, message])
    if not fields:
        general.append(" ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc))
    return by_step, general


def _show_refusals(form: Any, slug: str, refusals: list[list[Any]]) -> list[str]:
    """Put the kept refusals on the step's form (its rows); return those that name no field of it."""
    left = []
    for row, field, message in refusals:
        if slug in ROW_PREFIXES:
            target = form.forms[row] if row is not None and row < len(form.forms) else None
        else:
            target = form
        if target is not None and field in target.fields:
            target.add_error(field, message)
        else:
            left.append(message)
    return left


# --- The steps ---------------------------------------------------------------------------------------------------


def _steps(flow: Flow, kept: dict[str, Any]) -> list[dict[str, Any]]:
    errors = kept.get(ERRORS, {})
    return [
        {"slug": slug, "title": TITLES[slug], "done": slug in kept, "refused": slug in errors, "url": flow.url(slug)}
        for slug in SLUGS
    ]


def _next(step: str) -> str:
    return SLUGS[SLUGS.index(step) + 1] if step != SLUGS[-1] else "review"


def _render(request: HttpRequest, flow: Flow, step: str, status: int = 200, **extra: Any) -> HttpResponse:
    context = {
        "flow": flow,
        "program": flow.program,
        "claim": flow.claim,
        "step": step,
        "steps": _steps(flow, _kept(request, flow)),
        "review_url": flow.url("review"),
        "rows": step in ROW_PREFIXES,
        "max_rows": MAX_LINES,
        **extra,
    }
    return render(request, "portal/claim_step.html", context, status=status)


def _step(request: HttpRequest, flow: Flow, step: str) -> HttpResponse:
    if step == "review":
        return _review(request, flow)
    if step not in SLUGS:
        raise Http404
    kept = _kept(request, flow)
    action = request.POST.get("rows", "") if request.method == "POST" else ""
    if action and step in ROW_PREFIXES:  # add or remove a row: nothing is checked yet, everything typed kept
        form = _step_form(flow, step, _rows(request.POST, ROW_PREFIXES[step], action), request.user)
        return _render(request, flow, step, form=form, quiet=True)
    form = _step_form(flow, step, request.POST if request.method == "POST" else _as_data(kept, step), request.user)
    notes: list[str] = []
    if request.method == "POST":
        if form.is_valid():
            entry = _keep(request, flow)
            entry[step] = {k: request.POST.getlist(k) for k in request.POST if k not in IGNORED}
            entry.get(ERRORS, {}).pop(step, None)
            return redirect(flow.url(_next(step)))
    elif form.is_bound and form.is_valid():
        notes = _show_refusals(form, step, kept.get(ERRORS, {}).get(step, []))
    return _render(request, flow, step, status=400 if request.method == "POST" else 200, form=form, notes=notes)


def _summary(flow: Flow, forms_: dict[str, Any]) -> list[dict[str, Any]]:
    """What the steps say, in the words of their forms (labels, choices, what was typed)."""
    out = []
    for slug in SLUGS:
        groups = forms_[slug].forms if slug in ROW_PREFIXES else [forms_[slug]]
        rows = []
        for form in groups:
            if slug in ROW_PREFIXES and not form.cleaned_data:
                continue
            rows.append([(bound.label, _shown(bound)) for bound in form.visible_fields()])
        out.append({"title": TITLES[slug], "url": flow.url(slug), "rows": rows})
    return out


def _shown(bound: Any) -> str:
    value = bound.value()
    choices = dict(getattr(bound.field, "choices", None) or ())
    if isinstance(value, list | tuple):
        return "、".join(str(choices.get(v, choices.get(_number(v, -1), v))) for v in value) or "—"
    if choices:
        return str(choices.get(value, choices.get(_number(value, -1), value)))
    return str(value) if value not in (None, "") else "—"


def _claim_data(cleaned: dict[str, Any], user: Any) -> tuple[Any, dict[str, Any]]:
    """The steps' answers in the shape the claims service takes."""
    entity = own_entities(user).get(pk=cleaned["entity"])
    provider = _providers(user).get(organization_id=cleaned["provider"]).organization
    data = {
        "provider": provider,
        "contract": {k: cleaned[f"contract_{k}"] for k in ("number", "signed_on", "amount", "starts_on", "ends_on")},
        "invoices": [
            {k: row[k] for k in ("issuer_uscc", "code", "number", "issued_on", "amount")} for row in cleaned["invoices"]
        ],
        "payments": [{k: row[k] for k in ("bank_reference", "paid_on", "amount")} for row in cleaned["payments"]],
        "delivery": {k: cleaned[f"delivery_{k}"] for k in ("starts_on", "ends_on", "service_type", "quantity", "unit")},
        "conditions": list(cleaned["conditions"]),
        "declaration_accepted": True,
    }
    return entity, data


def _review(request: HttpRequest, flow: Flow) -> HttpResponse:
    kept = _kept(request, flow)
    forms_: dict[str, Any] = {}
    cleaned: dict[str, Any] = {}
    for slug in SLUGS:
        forms_[slug] = _step_form(flow, slug, _as_data(kept, slug), request.user)
        if not forms_[slug].is_valid():
            return redirect(flow.url(slug))
        cleaned |= _cleaned(slug, forms_[slug])
    create = CreateClaimForm(request.POST or None)
    if request.method == "POST" and create.is_valid():
        entity, data = _claim_data(cleaned, request.user)

        def operation() -> str:
            if flow.claim is None:
                claim = claim_services.claim_create(actor=request.user, entity=entity, program=flow.program, data=data)
            else:
                claim = claim_services.claim_update(actor=request.user, claim=flow.claim, data=data)
            return reverse("portal:claim", args=[claim.pk])

        try:
            location = run_once(request, operation)
        except Replayed as replay:
            return redirect(replay.location)
        except Refused as exc:
            create.add_error(None, str(exc))
        except SERVICE_ERRORS as exc:
            by_step, general = _refusals(exc)
            _keep(request, flow)[ERRORS] = by_step
            for message in general:
                create.add_error(None, message)
            if by_step:
                create.add_error(None, _("Nothing was saved: correct the steps marked below, then come back here."))
        else:
            _forget(request, flow)
            if flow.claim is None:
                messages.success(request, _("The draft claim was created. Upload the evidence, then submit it."))
            else:
                messages.success(request, _("The claim was changed. Check its evidence, then submit it again."))
            return redirect(location)
    context = {"summary": _summary(flow, forms_), "form": create}
    return _render(request, flow, "review", status=400 if create.errors else 200, **context)


# --- A new claim; correcting a draft or a returned one -----------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def claim_step(request: HttpRequest, program_id: int, step: str) -> HttpResponse:
    entities = _entities(request)
    program = get_object_or_404(programs_public(timezone.localdate()), pk=program_id)
    return _step(request, Flow(str(program_id), program, entities), step)


def _claim_as_steps(claim: Any) -> dict[str, dict[str, list[str]]]:
    """A claim's fields as the steps' form data (what the applicant corrects)."""
    invoices, payments = claim_selectors.claim_invoices(claim), claim_selectors.claim_payments(claim)
    dates = ("signed_on", "starts_on", "ends_on")
    purchase = {
        "entity": [str(claim.entity_id)],
        "provider": [str(claim.provider_id)],
        "contract_number": [claim.contract_number],
        "contract_amount": [fen_to_yuan(claim.contract_amount)],
        **{f"contract_{k}": [getattr(claim, f"contract_{k}").isoformat()] for k in dates},
        "conditions": [str(code) for code in claim.conditions],
    }
    invoice = {"invoices-TOTAL_FORMS": [str(len(invoices) or 1)], "invoices-INITIAL_FORMS": ["0"]}
    for i, line in enumerate(invoices):
        invoice |= {f"invoices-{i}-{k}": [getattr(line, k)] for k in ("issuer_uscc", "code", "number")}
        invoice |= {f"invoices-{i}-issued_on": [line.issued_on.isoformat()]}
        invoice |= {f"invoices-{i}-amount": [fen_to_yuan(line.amount)]}
    payment = {"payments-TOTAL_FORMS": [str(len(payments) or 1)], "payments-INITIAL_FORMS": ["0"]}
    for i, paid in enumerate(payments):
        payment |= {f"payments-{i}-bank_reference": [paid.bank_reference]}
        payment |= {f"payments-{i}-paid_on": [paid.paid_on.isoformat()]}
        payment |= {f"payments-{i}-amount": [fen_to_yuan(paid.amount)]}
    delivery = {
        "delivery_starts_on": [claim.delivery_starts_on.isoformat()],
        "delivery_ends_on": [claim.delivery_ends_on.isoformat()],
        "delivery_service_type": [claim.service_type],
        "delivery_quantity": [str(claim.quantity)],
        "delivery_unit": [claim.unit],
    }
    return {"purchase": purchase, "invoice": invoice, "payment": payment, "delivery": delivery}


@login_required
@require_http_methods(["GET", "POST"])
def claim_edit(request: HttpRequest, pk: int, step: str) -> HttpResponse:
    """Correct a draft or a returned claim through the same steps, starting from what it says now."""
    _entities(request)
    claim = get_object_or_404(
        claim_selectors.claims_visible_to(request.user).filter(entity__in=own_entities(request.user)), pk=pk
    )
    if not claim_selectors.claim_is_editable(claim):
        messages.error(request, _("Only a draft or a returned claim can be changed."))
        return redirect("portal:claim", pk=claim.pk)
    flow = Flow(f"claim-{claim.pk}", claim.program, [(claim.entity_id, claim.entity.name)], claim)
    starting = step == SLUGS[0] and "start" in request.GET
    if request.method == "GET" and (starting or not _kept(request, flow)):
        entry = _keep(request, flow)
        entry.clear()
        entry.update(_claim_as_steps(claim))
    return _step(request, flow, step)
