"""Drafting a claim: create it, amend it (as a draft or once returned), withdraw it.

The API's serializers check shapes and JSON types; this module checks what a claim says against itself and the
records (amounts that agree, dates in order, a registered provider, condition codes the program knows, invoices
no other claim counts already) and answers every problem at once as a 400 naming its field. The evaluation runs
the same consistency checks again (``checks.consistency``), because it is what decides.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.audit import audit_record
from accounts.models import Organization
from accounts.selectors import organization_barred_until
from accounts.validators import validate_uscc
from core.transactions import service_write
from ledger.money import fen_to_yuan
from voucher_service.claims.errors import ClaimError, ClaimErrorCode
from voucher_service.claims.models import (
    EDITABLE_STATUSES,
    WITHDRAWABLE_STATUSES,
    Claim,
    ClaimInvoice,
    ClaimPayment,
    ClaimStatus,
)
from voucher_service.claims.permissions import require_applicant
from voucher_service.programs.models import COMPUTE_SERVICE_TYPES, Program, ProgramStatus, ProviderListing
from voucher_service.programs.selectors import program_current_version

# 全电发票: 20 digits. Paper-era invoices: a 发票代码 of 10 or 12 digits and an 8-digit 号码.
FULL_DIGITAL_NUMBER = re.compile(r"^[0-9]{20}$")
INVOICE_CODE = re.compile(r"^([0-9]{10}|[0-9]{12})$")
INVOICE_NUMBER = re.compile(r"^[0-9]{8}$")
MAX_LINES = 50
CONTRACT_FIELDS = {
    "number": "contract_number",
    "signed_on": "contract_signed_on",
    "amount": "contract_amount",
    "starts_on": "contract_starts_on",
    "ends_on": "contract_ends_on",
}
DELIVERY_FIELDS = {
    "starts_on": "delivery_starts_on",
    "ends_on": "delivery_ends_on",
    "service_type": "service_type",
    "quantity": "quantity",
    "unit": "unit",
}


@dataclass
class Problems:
    """Per-field problems, answered together as one 400."""

    fields: dict[str, list[dict[str, str]]] = field(default_factory=dict)

    def add(self, path: str, code: str, message: str) -> None:
        self.fields.setdefault(path, []).append({"code": code, "message": message})

    def raise_if_any(self) -> None:
        if self.fields:
            raise ClaimError(ClaimErrorCode.INVALID, _("The claim is not valid."), fields=self.fields)


def invoice_problem(code: str, number: str) -> str | None:
    if code:
        if not INVOICE_CODE.fullmatch(code):
            return _("An invoice code (发票代码) has 10 or 12 digits.")
        if not INVOICE_NUMBER.fullmatch(number):
            return _("With an invoice code, the invoice number (发票号码) has 8 digits.")
        return None
    if not FULL_DIGITAL_NUMBER.fullmatch(number):
        return _("A fully digital invoice (全电发票) number has 20 digits; older invoices give a code and a number.")
    return None


def _check_lines(data: Mapping[str, Any], problems: Problems) -> None:
    today = timezone.localdate()
    seen: set[tuple[str, str, str]] = set()
    invoices = data.get("invoices") or []
    if not invoices:
        problems.add("invoices", "required", _("Name at least one invoice."))
    for index, invoice in enumerate(invoices[:MAX_LINES]):
        path = f"invoices.{index}"
        try:
            validate_uscc(invoice["issuer_uscc"])
        except Exception:  # django's ValidationError, with its own message; ours is the per-field one
            problems.add(f"{path}.issuer_uscc", "invalid", _("This is not a valid unified social credit code."))
        problem = invoice_problem(invoice.get("code", ""), invoice["number"])
        if problem:
            problems.add(f"{path}.number", "invalid", problem)
        key = (invoice["issuer_uscc"], invoice.get("code", ""), invoice["number"])
        if key in seen:
            problems.add(f"{path}.number", "unique", _("This invoice is listed twice."))
        seen.add(key)
        if invoice["issued_on"] > today:
            problems.add(f"{path}.issued_on", "future_date", _("An invoice date cannot be in the future."))
    payments = data.get("payments") or []
    if not payments:
        problems.add("payments", "required", _("Name at least one payment."))
    for index, payment in enumerate(payments[:MAX_LINES]):
        if payment["paid_on"] > today:
            problems.add(f"payments.{index}.paid_on", "future_date", _("A payment date cannot be in the future."))
    if len(invoices) > MAX_LINES or len(payments) > MAX_LINES:
        problems.add("invoices", "max_length", _("At most %(n)d invoices and %(n)d payments.") % {"n": MAX_LINES})


def consistency_problems(data: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """(field, code, message) for every way the claim disagrees with itself: invoices that do not add up to the
    payments, either over the contract, a period out of order, a delivery outside the contract's period."""
    out = []
    contract, delivery = data["contract"], data["delivery"]
    invoiced = sum(invoice["amount"] for invoice in data.get("invoices") or [])
    paid = sum(payment["amount"] for payment in data.get("payments") or [])
    if invoiced != paid:
        out.append(
            (
                "payments",
                "amounts_disagree",
                _("The invoices add up to %(invoiced)s yuan but the payments to %(paid)s yuan.")
                % {"invoiced": fen_to_yuan(invoiced), "paid": fen_to_yuan(paid)},
            )
        )
    if max(invoiced, paid) > contract["amount"]:
        out.append(
            (
                "contract.amount",
                "below_invoiced",
                _("The invoices and payments (%(amount)s yuan) exceed the contract amount (%(contract)s yuan).")
                % {"amount": fen_to_yuan(max(invoiced, paid)), "contract": fen_to_yuan(contract["amount"])},
            )
        )
    if contract["ends_on"] < contract["starts_on"]:
        out.append(("contract.ends_on", "dates_out_of_order", _("The contract ends before it starts.")))
    if delivery["ends_on"] < delivery["starts_on"]:
        out.append(("delivery.ends_on", "dates_out_of_order", _("The delivery ends before it starts.")))
    elif delivery["starts_on"] < contract["starts_on"] or delivery["ends_on"] > contract["ends_on"]:
        out.append(
            ("delivery.starts_on", "outside_contract", _("The delivery period lies outside the contract's period."))
        )
    return out


def _check_business(program: Program, data: Mapping[str, Any], problems: Problems, claim: Claim | None) -> None:
    for path, code, message in consistency_problems(data):
        problems.add(path, code, message)
    delivery = data["delivery"]
    if delivery["ends_on"] > timezone.localdate():
        problems.add("delivery.ends_on", "future_date", _("A claim is filed for compute already delivered."))
    if delivery["service_type"] not in COMPUTE_SERVICE_TYPES:
        problems.add("delivery.service_type", "not_compute", _("Vouchers pay for compute (gpu, npu, cpu) only."))
    if not ProviderListing.objects.filter(organization=data["provider"]).exists():
        problems.add("provider", "not_registered", _("The provider is not registered."))
    if program.status == ProgramStatus.DRAFT:
        problems.add("program", "draft", _("The program is a draft: it pays nothing."))
    version = program_current_version(program)
    known = {rule.condition.code for rule in version.parsed().rate_rules} if version is not None else set()
    for index, code in enumerate(data.get("conditions") or []):
        if code not in known:
            problems.add(
                f"conditions.{index}",
                "invalid_choice",
                _("The program has no rate condition %(code)s.") % {"code": code},
            )
    for index, voucher in enumerate(data.get("vouchers") or []):
        if voucher.entity_id != data["entity"].pk or voucher.program_id != program.pk:
            problems.add(
                f"vouchers.{index}", "not_yours", _("This voucher is not the entity's voucher of this program.")
            )
    _check_invoices_free(data, problems, claim)


def _check_invoices_free(data: Mapping[str, Any], problems: Problems, claim: Claim | None) -> None:
    """An invoice another claim counts already is refused at once, naming that claim (evaluation checks again,
    under the database's unique key, for claims that race)."""
    for index, invoice in enumerate(data.get("invoices") or []):
        taken = (
            ClaimInvoice.objects.filter(
                counts=True, issuer_uscc=invoice["issuer_uscc"], code=invoice.get("code", ""), number=invoice["number"]
            )
            .exclude(claim=claim)
            .values_list("claim_id", flat=True)
            .first()
        )
        if taken is not None:
            problems.add(
                f"invoices.{index}.number",
                "already_claimed",
                _("This invoice is already subsidised by claim #%(claim)d.") % {"claim": taken},
            )


def _write_lines(claim: Claim, data: Mapping[str, Any]) -> None:
    if "invoices" in data:
        claim.invoices.all().delete()
        ClaimInvoice.objects.bulk_create(
            ClaimInvoice(
                claim=claim,
                issuer_uscc=invoice["issuer_uscc"],
                code=invoice.get("code", ""),
                number=invoice["number"],
                issued_on=invoice["issued_on"],
                amount=invoice["amount"],
            )
            for invoice in data["invoices"]
        )
    if "payments" in data:
        claim.payments.all().delete()
        ClaimPayment.objects.bulk_create(
            ClaimPayment(claim=claim, bank_reference=p["bank_reference"], paid_on=p["paid_on"], amount=p["amount"])
            for p in data["payments"]
        )


def _apply_fields(claim: Claim, data: Mapping[str, Any]) -> None:
    for key, attribute in CONTRACT_FIELDS.items():
        if "contract" in data:
            setattr(claim, attribute, data["contract"][key])
    for key, attribute in DELIVERY_FIELDS.items():
        if "delivery" in data:
            setattr(claim, attribute, data["delivery"][key])
    for name in ("provider", "platform_order_number", "conditions", "declaration_accepted"):
        if name in data:
            setattr(claim, name, data[name])
    if "vouchers" in data:
        claim.requested_vouchers = [voucher.pk for voucher in data["vouchers"]]


def claim_as_input(claim: Claim) -> dict[str, Any]:
    """The claim's current fields in the draft-input shape, to check an amendment against the whole claim."""
    return {
        "entity": claim.entity,
        "provider": claim.provider,
        "contract": {key: getattr(claim, attribute) for key, attribute in CONTRACT_FIELDS.items()},
        "delivery": {key: getattr(claim, attribute) for key, attribute in DELIVERY_FIELDS.items()},
        "invoices": list(claim.invoices.values("issuer_uscc", "code", "number", "issued_on", "amount")),
        "payments": list(claim.payments.values("bank_reference", "paid_on", "amount")),
        "conditions": list(claim.conditions),
        "vouchers": list(claim.entity.vouchers.filter(pk__in=claim.requested_vouchers)),
    }


def _require_not_barred(entity: Organization) -> None:
    bar = organization_barred_until(entity, timezone.localdate())
    if bar is not None:
        raise ClaimError(
            ClaimErrorCode.ENTITY_BARRED,
            _("The entity is barred from claims until %(until)s.") % {"until": bar.until.isoformat()},
        )


@service_write
def claim_create(*, actor: Any, entity: Organization, program: Program, data: Mapping[str, Any]) -> Claim:
    """A new draft claim of ``entity`` against ``program``. ``data`` is the API's validated body."""
    require_applicant(actor, entity)
    _require_not_barred(entity)
    problems = Problems()
    full = {**data, "entity": entity}
    _check_lines(full, problems)
    if not problems.fields:
        _check_business(program, full, problems, None)
    problems.raise_if_any()
    claim = Claim(program=program, entity=entity, created_by=actor)
    _apply_fields(claim, full)
    claim.save()
    _write_lines(claim, full)
    audit_record(
        actor=actor,
        action="claim.create",
        target=claim,
        organization=entity,
        after={"program": program.pk, "provider": claim.provider_id, "contract_amount": claim.contract_amount},
    )
    return claim


@service_write
def claim_update(*, actor: Any, claim: Claim, data: Mapping[str, Any]) -> Claim:
    """Amend a draft or a returned claim; lists (invoices, payments, vouchers, conditions) are replaced whole."""
    locked = Claim.objects.select_for_update(of=("self",)).select_related("program", "entity").get(pk=claim.pk)
    require_applicant(actor, locked.entity)
    if locked.status not in EDITABLE_STATUSES:
        raise ClaimError(
            ClaimErrorCode.NOT_EDITABLE,
            _("Only a draft or a returned claim can be changed; this one is %(status)s.")
            % {"status": locked.get_status_display()},
        )
    problems = Problems()
    current = claim_as_input(locked)
    merged = {**current, **{k: v for k, v in data.items() if k not in ("contract", "delivery")}}
    merged["contract"] = {**current["contract"], **(data.get("contract") or {})}
    merged["delivery"] = {**current["delivery"], **(data.get("delivery") or {})}
    _check_lines(merged, problems)
    if not problems.fields:
        _check_business(locked.program, merged, problems, locked)
    problems.raise_if_any()
    _apply_fields(locked, {**data, "contract": merged["contract"], "delivery": merged["delivery"]})
    locked.save()
    _write_lines(locked, data)
    audit_record(
        actor=actor,
        action="claim.update",
        target=locked,
        organization=locked.entity,
        after={"fields": sorted(data)},
    )
    return locked


@service_write
def claim_withdraw(*, actor: Any, claim: Claim, reason: str = "") -> Claim:
    """The entity takes its claim back before payout; whatever it reserved is released."""
    from voucher_service.claims.reserve import release_reserve

    locked = Claim.objects.select_for_update(of=("self",)).select_related("program", "entity").get(pk=claim.pk)
    require_applicant(actor, locked.entity)
    if locked.status not in WITHDRAWABLE_STATUSES or hasattr(locked, "payout"):
        raise ClaimError(
            ClaimErrorCode.INVALID_STATE,
            _("A claim can be withdrawn only before its payout; this one is %(status)s.")
            % {"status": locked.get_status_display()},
        )
    before = locked.status
    release_reserve(locked, actor=actor)
    locked.status, locked.outcome_reason = ClaimStatus.WITHDRAWN, reason
    locked.save(update_fields=["status", "outcome_reason", "updated_at"])
    audit_record(
        actor=actor,
        action="claim.withdraw",
        target=locked,
        organization=locked.entity,
        before={"status": before},
        after={"status": locked.status, "reason": reason},
    )
    return locked
