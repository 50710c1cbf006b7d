"""Builders for the claims tests: the seed policies loaded, this year's budgets open, a Baoding cast, a listed
provider, vouchers dated so that a delivery of the last months lies inside them, and claims walked through the API.

Money in these tests is written as the policies write it: ``YUAN`` fen per yuan, so 1,000,000 yuan is
``1_000_000 * YUAN``. The fixtures that use these are in ``tests/voucher_service/claims/conftest.py``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date, timedelta
from io import StringIO
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone

from accounts.audit import SYSTEM
from accounts.models import Organization, OrganizationKind, User
from tests.factories import client_for, make_org
from voucher_service.claims.models import Claim
from voucher_service.claims.services import evidence_upload
from voucher_service.programs.budgets import budget_open
from voucher_service.programs.models import Program
from voucher_service.programs.providers import provider_register
from voucher_service.programs.selectors import current_fiscal_year
from voucher_service.vouchers.models import Issuance, IssuanceKind, Voucher
from voucher_service.vouchers.services import issuance_execute

YUAN = 100
TODAY = timezone.localdate
PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
_numbers = itertools.count(10_000_000)


def invoice_number() -> str:
    """A fresh 20-digit 全电发票 number."""
    return f"2644{next(_numbers):016d}"


def yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


@dataclass
class Cast:
    program: Program
    agency: Organization
    entity: Organization
    applicant: User
    reviewer: User
    reviewer2: User
    finance: User
    auditor: User
    provider: Organization

    def user(self, name: str) -> User:
        return getattr(self, name)


def load_seeds() -> None:
    call_command("load_policies", stdout=StringIO())
    for program in Program.objects.filter(status="published"):
        if program.window_covers(TODAY()):
            budget_open(actor=SYSTEM, program=program, year=current_fiscal_year())


def list_provider(jurisdiction: str, *, platforms: tuple = (), services: tuple = ("gpu", "npu")) -> Organization:
    provider = make_org(OrganizationKind.PROVIDER, jurisdiction=jurisdiction)
    provider_register(
        actor=SYSTEM,
        organization=provider,
        service_types=list(services),
        valid_from=date(2023, 1, 1),
        platforms=platforms,
    )
    return provider


def issue_voucher(program: Program, entity: Organization, amount: int, *, valid_from: date | None = None) -> Voucher:
    """A voucher of ``amount`` fen, issued through the issuing engine, valid from ``valid_from`` (default: 200 days
    ago, so that deliveries of recent months lie inside it)."""
    issuance = Issuance.objects.create(
        kind=IssuanceKind.APPLICATION, program=program, entity=entity, amount=amount, fiscal_year=current_fiscal_year()
    )
    issuance_execute(issuance_id=issuance.pk)
    issuance.refresh_from_db()
    assert issuance.status == "succeeded", (issuance.failure_code, issuance.failure_message)
    voucher = Voucher.objects.get(pk=issuance.voucher_id)
    Voucher.objects.filter(pk=voucher.pk).update(
        valid_from=valid_from or max(TODAY() - timedelta(days=200), date(TODAY().year, 1, 1))
    )
    voucher.refresh_from_db()
    return voucher


def delivery_period() -> tuple[date, date]:
    end = TODAY() - timedelta(days=10)
    return end - timedelta(days=60), end


def claim_body(cast: Cast, *, amount: int = 1_000_000 * YUAN, conditions=("local_platform",), **overrides: Any) -> dict:
    start, end = delivery_period()
    body = {
        "program": cast.program.pk,
        "entity": cast.entity.pk,
        "provider": cast.provider.pk,
        "contract": {
            "number": f"HT-{next(_numbers)}",
            "signed_on": (start - timedelta(days=5)).isoformat(),
            "amount": yuan(amount),
            "starts_on": (start - timedelta(days=5)).isoformat(),
            "ends_on": (end + timedelta(days=30)).isoformat(),
        },
        "invoices": [
            {
                "issuer_uscc": cast.provider.uscc,
                "number": invoice_number(),
                "issued_on": end.isoformat(),
                "amount": yuan(amount),
            }
        ],
        "payments": [{"bank_reference": f"BR{next(_numbers)}", "paid_on": end.isoformat(), "amount": yuan(amount)}],
        "delivery": {
            "starts_on": start.isoformat(),
            "ends_on": end.isoformat(),
            "service_type": "gpu",
            "quantity": "1200",
            "unit": "card_hours",
        },
        "conditions": list(conditions),
        "declaration_accepted": True,
    }
    body.update(overrides)
    return body


def attach_evidence(claim: Claim | int, user: User, kinds=("contract", "invoice", "payment_proof", "usage_statement")):
    claim = claim if isinstance(claim, Claim) else Claim.objects.get(pk=claim)
    for kind in kinds:
        evidence_upload(actor=user, claim=claim, kind=kind, upload=SimpleUploadedFile(f"{kind}.pdf", PDF))


def create(cast: Cast, body: dict | None = None, user: User | None = None) -> Any:
    return client_for(user or cast.applicant).post("/api/v1/claims/", body or claim_body(cast), format="json")


def submitted(cast: Cast, capture: Any, body: dict | None = None, user: User | None = None) -> Claim:
    """A claim created, evidenced and submitted through the API, with its evaluation run."""
    response = create(cast, body, user)
    assert response.status_code == 201, response.json()
    claim_id = response.json()["id"]
    attach_evidence(claim_id, user or cast.applicant)
    with capture(execute=True):
        answer = client_for(user or cast.applicant).post(f"/api/v1/claims/{claim_id}/submit/")
    assert answer.status_code == 202, answer.json()
    return Claim.objects.get(pk=claim_id)


def decide(user: User, claim: Claim, decision: str = "approve", **body: Any) -> Any:
    return client_for(user).post(f"/api/v1/claims/{claim.pk}/decide/", {"decision": decision, **body}, format="json")


def confirmations(claim: Claim, denied: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """The first stage's verdict on every reviewer-checked condition the claim asks for."""
    claim.refresh_from_db()
    rules = claim.program_version.parsed()
    return [
        {"code": code, "confirmed": code not in denied, "reason": "材料不足" if code in denied else "已核实"}
        for code in claim.conditions
        if code in rules.reviewer_conditions()
    ]


def approve_all(cast: Cast, claim: Claim, **first_stage: Any) -> Claim:
    """初审 (reviewer, confirming the claimed conditions unless told otherwise), 复审 (reviewer2), 财政 (finance)."""
    first_stage.setdefault("conditions", confirmations(claim))
    for user, extra in ((cast.reviewer, first_stage), (cast.reviewer2, {}), (cast.finance, {})):
        response = decide(user, claim, **extra)
        assert response.status_code == 200, response.json()
    claim.refresh_from_db()
    return claim


def pay(cast: Cast, claim: Claim, capture: Any) -> Any:
    from voucher_service.claims.notice import notices_close

    notices_close(today=claim.notice_ends_on + timedelta(days=1))
    # Money, not the second factor, is under test here (that is test_api_claims_payout_second_factor's): a
    # force-authenticated client has given none, so production's PORTAL_FINANCE_REQUIRE_TOTP is off for it.
    with capture(execute=True), override_settings(PORTAL_FINANCE_REQUIRE_TOTP=False):
        return client_for(cast.finance).post(
            f"/api/v1/claims/{claim.pk}/payout/",
            {"paid_on": TODAY().isoformat(), "bank_reference": "CZ-2026-0001"},
            format="json",
        )


def freeze(monkeypatch: Any, day: date) -> None:
    """Make "now" 10:00 on ``day`` for the code under test (``django.utils.timezone.now`` and ``localdate``)."""
    from datetime import datetime, time

    moment = timezone.make_aware(datetime.combine(day, time(10)))
    monkeypatch.setattr(timezone, "now", lambda: moment)
    monkeypatch.setattr(timezone, "localdate", lambda value=None, timezone=None: day)


def assert_budgets_add_up() -> None:
    """For each program-year: cap = remaining + held + issued − returned, and issued = the vouchers' balances +
    paid + returned + lapsed (the vouchers' balances include what open claims hold on them)."""
    from ledger.models import Account
    from voucher_service.programs.models import FiscalYearBudget
    from voucher_service.programs.selectors import budget_figures

    for budget in FiscalYearBudget.objects.all():
        figures = budget_figures(budget)
        assert figures.cap == figures.remaining + figures.held + figures.issued - figures.returned, figures
        accounts = Voucher.objects.filter(program=budget.program, fiscal_year=budget.year).values("account_id")
        balances = sum(a.posted_credits - a.posted_debits for a in Account.objects.filter(pk__in=accounts))
        assert figures.issued == balances + figures.spent + figures.returned + figures.lapsed, (figures, balances)
