"""Demo claims for ``make run``: one Baoding claim of 定州算力应用有限公司 (``demo_dz_applicant``) in each state a
claim can rest in, made through the services by the demo users themselves, so the history of each reads as it
would (the notices of the payable, paid and clawed-back claims are fast-forwarded to their end).

Idempotent (the demo's contracts are numbered ``DEMO-…``), and skipped when the Baoding program is not loaded or
cannot issue today (a bare ``load_demo`` without ``load_policies``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from accounts.audit import SYSTEM
from accounts.models import Organization, User
from voucher_service.claims.evaluation import claim_evaluate, claim_submit
from voucher_service.claims.models import Claim
from voucher_service.claims.services import (
    claim_create,
    claim_decide,
    claim_withdraw,
    clawback_record,
    evidence_upload,
    payout_execute,
    payout_request,
)
from voucher_service.programs.models import Program
from voucher_service.programs.selectors import budget_for, current_fiscal_year, program_can_issue
from voucher_service.vouchers.models import Issuance, IssuanceKind, Voucher, VoucherStatus
from voucher_service.vouchers.services import issuance_execute

BAODING = "baoding-compute-measures-5"
PREFIX = "DEMO-"
PDF = b"%PDF-1.7\n% demo evidence\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
STATES = (
    "draft",
    "refused",
    "in_review",
    "returned",
    "rejected",
    "withdrawn",
    "in_notice",
    "payable",
    "paid",
    "clawed_back",
)
KINDS = ("contract", "invoice", "payment_proof", "usage_statement")


def _voucher(program: Program, entity: Organization) -> Voucher | None:
    existing = Voucher.objects.filter(program=program, entity=entity, status=VoucherStatus.ACTIVE).first()
    if existing is not None:
        return existing
    issuance = Issuance.objects.create(
        kind=IssuanceKind.APPLICATION,
        program=program,
        entity=entity,
        amount=500_000_00,
        fiscal_year=current_fiscal_year(),
        memo="demo",
    )
    issuance = issuance_execute(issuance_id=issuance.pk)
    return issuance.voucher


def _data(entity: Organization, provider: Organization, number: int, *, declared: bool = True) -> dict[str, Any]:
    today = timezone.localdate()
    amount = 20_000_00 + number * 1_000_00
    return {
        "entity": entity,
        "provider": provider,
        "contract": {
            "number": f"{PREFIX}{today.year}-{number:03d}",
            "signed_on": today - timedelta(days=30),
            "amount": amount,
            "starts_on": today - timedelta(days=30),
            "ends_on": today + timedelta(days=335),
        },
        "invoices": [
            {
                "issuer_uscc": provider.uscc,
                "code": "",
                "number": f"2613{today.year}{number:012d}",
                "issued_on": today,
                "amount": amount,
            }
        ],
        "payments": [{"bank_reference": f"DEMO-BR-{number:04d}", "paid_on": today, "amount": amount}],
        "delivery": {
            "starts_on": today,
            "ends_on": today,
            "service_type": "gpu",
            "quantity": 100 + number,
            "unit": "card_hours",
        },
        "conditions": ["local_platform"],
        "declaration_accepted": declared,
    }


def _approve(claim: Claim, users: dict[str, User]) -> Claim:
    confirm = [{"code": "local_platform", "confirmed": True, "reason": "已核实使用本地算力服务平台"}]
    claim = claim_decide(actor=users["demo_reviewer"], claim=claim, decision="approve", conditions=confirm)
    claim = claim_decide(actor=users["demo_reviewer2"], claim=claim, decision="approve")
    return claim_decide(actor=users["demo_finance"], claim=claim, decision="approve")


def _bring_to(state: str, claim: Claim, users: dict[str, User]) -> Claim:
    from voucher_service.claims.notice import notice_close

    applicant = users["demo_dz_applicant"]
    if state == "draft":
        return claim
    claim_submit(actor=applicant, claim=claim)
    claim = claim_evaluate(claim_id=claim.pk)
    if state in ("refused", "in_review"):
        return claim
    if state in ("returned", "rejected"):
        decision = "return" if state == "returned" else "reject"
        reason = "请补充算力使用明细" if state == "returned" else "发票与合同不符"
        return claim_decide(actor=users["demo_reviewer"], claim=claim, decision=decision, reason=reason)
    if state == "withdrawn":
        return claim_withdraw(actor=applicant, claim=claim, reason="重复申报")
    claim = _approve(claim, users)
    if state == "in_notice" or claim.notice_ends_on is None:
        return claim
    notice_close(claim_id=claim.pk, today=claim.notice_ends_on + timedelta(days=1))  # the demo fast-forwards
    if state == "payable":
        return claim
    payout = payout_request(
        actor=users["demo_finance"], claim=claim, paid_on=timezone.localdate(), bank_reference=f"CZ-DEMO-{claim.pk}"
    )
    payout_execute(payout_id=payout.pk)
    if state == "clawed_back":
        clawback_record(
            actor=users["demo_finance"],
            claim=claim,
            reason_code="audit_finding",
            amount=1_000_00,
            note="审计抽查：多计1000元",
        )
    return Claim.objects.get(pk=claim.pk)


def claims_demo_load(*, users: dict[str, User], entity: Organization, provider: Organization) -> list[str]:
    """One demo claim per state (see the module docstring). Returns the states made now ([] when skipped)."""
    program = Program.objects.filter(code=BAODING).first()
    today = timezone.localdate()
    if program is None or not program_can_issue(program, today) or budget_for(program, today.year) is None:
        return []
    if Claim.objects.filter(contract_number__startswith=PREFIX).exists():
        return []
    if _voucher(program, entity) is None:
        return []
    made = []
    for number, state in enumerate(STATES, start=1):
        claim = claim_create(
            actor=users["demo_dz_applicant"],
            entity=entity,
            program=program,
            data=_data(entity, provider, number, declared=state != "refused"),
        )
        for kind in KINDS:
            upload = SimpleUploadedFile(f"{kind}.pdf", PDF)
            evidence_upload(actor=users["demo_dz_applicant"], claim=claim, kind=kind, upload=upload)
        made.append(_bring_to(state, claim, users).status)
    return made


__all__ = ["STATES", "SYSTEM", "claims_demo_load"]
