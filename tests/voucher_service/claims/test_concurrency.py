"""Caps under real concurrency (PostgreSQL, real threads): whatever the interleaving, no cap is exceeded.

Each test prepares submitted claims (or a payout, or a stage to decide) and releases many threads at once to run
them, as Celery workers or concurrent reviewers would.
"""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from ledger.models import Account
from tests.claims import (
    PDF,
    YUAN,
    Cast,
    claim_body,
    confirmations,
    invoice_number,
    issue_voucher,
)
from tests.factories import make_org, make_user
from tests.race_condition import race
from voucher_service.claims.api.serializers import ClaimCreateSerializer
from voucher_service.claims.evaluation import claim_evaluate
from voucher_service.claims.models import Claim, ClaimDecision, ClaimYearTotal, Payout, RuleTotal
from voucher_service.claims.notice import notices_close
from voucher_service.claims.services import (
    claim_create,
    claim_decide,
    claim_submit,
    evidence_upload,
    payout_execute,
    payout_request,
)
from voucher_service.programs.models import Program
from voucher_service.vouchers.models import Voucher

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _tasks_wait_for_the_race(monkeypatch):
    """Committed submissions and payout requests queue their tasks; here the race runs them, not the queue."""
    from voucher_service.claims import tasks

    monkeypatch.setattr(tasks.evaluate_claim, "delay", lambda *ids: None)
    monkeypatch.setattr(tasks.execute_payout, "delay", lambda *ids: None)


def draft(cast: Cast, body: dict) -> Claim:
    """A submitted claim, not yet evaluated (the races run the evaluations)."""
    data = ClaimCreateSerializer(
        data=body,
        querysets={
            "provider": type(cast.provider).objects.all(),
            "vouchers": Voucher.objects.all(),
            "program": Program.objects.all(),
            "entity": type(cast.entity).objects.all(),
        },
    )
    assert data.is_valid(), data.errors
    values = dict(data.validated_data)
    claim = claim_create(actor=cast.applicant, entity=values.pop("entity"), program=values.pop("program"), data=values)
    for kind in ("contract", "invoice", "payment_proof", "usage_statement"):
        evidence_upload(actor=cast.applicant, claim=claim, kind=kind, upload=SimpleUploadedFile(f"{kind}.pdf", PDF))
    return claim_submit(actor=cast.applicant, claim=claim)


def evaluate_all(claims, threads=16):
    outcomes = race([lambda pk=c.pk: claim_evaluate(claim_id=pk) for c in claims], threads=threads)
    assert all(o.ok for o in outcomes), [o.error for o in outcomes if not o.ok]
    return [Claim.objects.get(pk=c.pk) for c in claims]


def test_fifty_concurrent_claims_on_one_voucher_never_exceed_its_balance(bd):
    # given a 100,000 yuan voucher and 50 claims of 10,000 yuan purchases (5,000 yuan subsidy each)
    voucher = issue_voucher(bd.program, bd.entity, 100_000 * YUAN)
    claims = [draft(bd, claim_body(bd, amount=10_000 * YUAN)) for _ in range(50)]
    # when all are evaluated at once
    results = evaluate_all(claims)
    # then exactly 20 hold 5,000 each and the voucher's balance is held exactly, never more
    held = [c for c in results if c.status == "in_review"]
    assert sum(c.subsidy for c in held) <= 100_000 * YUAN
    assert len(held) == 20
    assert {c.status for c in results} == {"in_review", "refused"}
    account = Account.objects.get(pk=voucher.account_id)
    assert account.pending_debits == 100_000 * YUAN
    assert account.posted_credits - account.posted_debits - account.pending_debits == 0


def test_the_same_invoice_in_two_programs_is_accepted_once(bd):
    # given one invoice claimed at once under Baoding and under a second program of the same agency
    from voucher_service.programs.services import program_create, program_publish

    admin = make_user(bd.agency, "program_admin", username="bd_admin2")
    other = program_create(
        actor=admin,
        code="baoding-second",
        name="保定第二算力券",
        jurisdiction=bd.agency.jurisdiction,
        issuing_agency=bd.agency,
        rules={"annual_cap": "1000000.00", "eligible_categories": ["enterprise"]},
        valid_from=bd.program.valid_from,
        valid_until=bd.program.valid_until,
    )
    other = program_publish(actor=admin, program=other)
    issue_voucher(bd.program, bd.entity, 100_000 * YUAN)
    issue_voucher(other, bd.entity, 100_000 * YUAN)
    number = invoice_number()
    first = claim_body(bd, amount=10_000 * YUAN)
    first["invoices"][0]["number"] = number
    second = claim_body(bd, amount=10_000 * YUAN, conditions=(), program=other.pk)
    second["invoices"][0]["number"] = number
    claims = [draft(bd, first), draft(bd, second)] * 1
    # when both are evaluated at the same instant, many times over
    results = evaluate_all(claims, threads=2)
    # then exactly one counts it; the other is refused and names it
    accepted = [c for c in results if c.status == "in_review"]
    refused = [c for c in results if c.status == "refused"]
    assert (len(accepted), len(refused)) == (1, 1)
    (check,) = [c for c in refused[0].evaluations.get().checks if c["check"] == "invoice_once"]
    assert f"#{accepted[0].pk}" in check["message"]["en"]


def test_racing_claims_stop_at_the_entity_year_cap_and_the_rule_cap(yinchuan_like):
    cast, _vouchers = yinchuan_like
    # given an entity capped at 100,000 yuan a year, claiming 12 times 20,000 yuan at once
    claims = [draft(cast, claim_body(cast, amount=20_000 * YUAN, conditions=("capped",))) for _ in range(12)]
    results = evaluate_all(claims)
    # then the entity-year total and the rule total stay within their caps
    total = ClaimYearTotal.objects.get(program=cast.program, entity=cast.entity)
    assert total.reserved + total.paid <= total.cap == 100_000 * YUAN
    rule = RuleTotal.objects.get(program=cast.program, entity=cast.entity, rule_code="capped")
    assert rule.used <= rule.cap == 30_000 * YUAN
    assert sum(c.subsidy or 0 for c in results if c.status == "in_review") == rule.used


def test_a_once_per_entity_award_is_reserved_once_under_concurrency(yinchuan_like):
    cast, _ = yinchuan_like
    claims = [draft(cast, claim_body(cast, amount=10_000 * YUAN, conditions=("talent",))) for _ in range(8)]
    results = evaluate_all(claims, threads=8)
    assert sum(c.status == "in_review" for c in results) == 1
    assert RuleTotal.objects.get(program=cast.program, entity=cast.entity, rule_code="talent").claims == 1


def test_a_payout_task_delivered_to_twenty_workers_pays_once(bd):
    voucher = issue_voucher(bd.program, bd.entity, 500_000 * YUAN)
    (claim,) = evaluate_all([draft(bd, claim_body(bd, amount=100_000 * YUAN))])
    for user in (bd.reviewer, bd.reviewer2, bd.finance):
        extra = {"conditions": confirmations(claim)} if user is bd.reviewer else {}
        claim_decide(actor=user, claim=claim, decision="approve", **extra)
    claim.refresh_from_db()
    notices_close(today=claim.notice_ends_on.replace(year=claim.notice_ends_on.year + 1))
    payout = payout_request(actor=bd.finance, claim=claim, paid_on=claim.notice_ends_on, bank_reference="CZ")
    # when twenty workers run the same task at once
    outcomes = race([lambda: payout_execute(payout_id=payout.pk)] * 20)
    # then it paid once
    assert all(o.ok for o in outcomes), [o.error for o in outcomes if not o.ok]
    account = Account.objects.get(pk=voucher.account_id)
    assert (account.posted_debits, account.pending_debits) == (50_000 * YUAN, 0)
    assert Payout.objects.get(pk=payout.pk).status == "succeeded"


def test_decisions_racing_on_one_stage_record_one_decision(bd):
    issue_voucher(bd.program, bd.entity, 500_000 * YUAN)
    (claim,) = evaluate_all([draft(bd, claim_body(bd, amount=100_000 * YUAN))])
    reviewers = [make_user(bd.agency, "reviewer", username=f"racer{n}") for n in range(8)]
    conditions = confirmations(claim)
    outcomes = race(
        [
            lambda user=user: claim_decide(actor=user, claim=claim, decision="approve", conditions=conditions)
            for user in reviewers
        ]
    )
    # then one decided the first stage; the others found it decided, or met the second stage with the first's
    # conditions (a 400), and never wrote a second decision of the first stage
    assert sum(o.ok for o in outcomes) >= 1
    assert ClaimDecision.objects.filter(claim=claim, stage_index=0).count() == 1
    assert ClaimDecision.objects.filter(claim=claim).count() == sum(o.ok for o in outcomes)


@pytest.fixture
def yinchuan_like(bd):
    """A program of the Baoding agency with a capped rule and a once-per-entity rule, and a 100,000 yuan entity cap."""
    from voucher_service.programs.services import program_create, program_publish

    admin = make_user(bd.agency, "program_admin", username="bd_admin3")
    program = program_create(
        actor=admin,
        code="capped-rules",
        name="带上限的算力补贴",
        jurisdiction=bd.agency.jurisdiction,
        issuing_agency=bd.agency,
        rules={
            "annual_cap": "5000000.00",
            "eligible_categories": ["enterprise"],
            "per_entity_annual_cap": "100000.00",
            "rate_rules": [
                {
                    "code": "capped",
                    "description": "封顶",
                    "rate": "0.50",
                    "cap": "30000.00",
                    "check": "settled_in_fiscal_year",
                },
                {
                    "code": "talent",
                    "description": "一次性",
                    "rate": "0.30",
                    "once_per_entity": True,
                    "check": "settled_in_fiscal_year",
                },
            ],
            "combination": "stack",
        },
        valid_from=bd.program.valid_from,
        valid_until=bd.program.valid_until,
    )
    program = program_publish(actor=admin, program=program)
    entity = make_org(jurisdiction="130602", category="enterprise", settled_on=bd.program.valid_from)
    from voucher_service.programs.selectors import current_fiscal_year

    type(entity).objects.filter(pk=entity.pk).update(settled_on=f"{current_fiscal_year()}-01-01")
    entity.refresh_from_db()
    cast = Cast(program, bd.agency, entity, make_user(entity, "applicant", username="capped_applicant"),
                bd.reviewer, bd.reviewer2, bd.finance, bd.auditor, bd.provider)  # fmt: skip
    vouchers = [issue_voucher(program, entity, 50_000 * YUAN), issue_voucher(program, entity, 50_000 * YUAN)]
    return cast, vouchers
