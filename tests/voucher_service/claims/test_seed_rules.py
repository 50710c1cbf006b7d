"""The seed policies' redemption rules, stated with their own numbers (POLICIES.md)."""

from datetime import date

import pytest

from accounts.audit import SYSTEM
from ledger.selectors import balance
from tests.claims import (
    TODAY,
    YUAN,
    approve_all,
    assert_budgets_add_up,
    attach_evidence,
    claim_body,
    confirmations,
    create,
    decide,
    freeze,
    issue_voucher,
    list_provider,
    pay,
    submitted,
)
from tests.factories import client_for, make_org, make_user
from voucher_service.claims.models import Claim
from voucher_service.claims.services import claim_submit, platform_order_record
from voucher_service.programs.budgets import budget_open
from voucher_service.programs.models import Program
from voucher_service.programs.selectors import budget_accounts

pytestmark = pytest.mark.django_db


def breakdown(user, claim):
    return client_for(user).get(f"/api/v1/claims/{claim.pk}/").json()["evaluation"]["breakdown"]


# --- Baoding: 50 % local platform, 60 % major project, highest only, 100万 per unit per year, funding split ------


def test_baoding_local_platform_gives_half_when_the_balance_allows(bd, django_capture_on_commit_callbacks):
    # given a 1,000,000 yuan voucher; when a 1,000,000 yuan local-platform purchase is claimed
    issue_voucher(bd.program, bd.entity, 1_000_000 * YUAN)
    claim = submitted(bd, django_capture_on_commit_callbacks)
    # then 500,000 yuan, bound by the rate
    assert (claim.status, claim.subsidy) == ("in_review", 500_000 * YUAN)
    assert breakdown(bd.applicant, claim)["bound_by"] == "rate"


def test_baoding_gives_no_more_than_the_voucher_balance(bd, django_capture_on_commit_callbacks):
    # given a 300,000 yuan voucher; when the same purchase is claimed
    issue_voucher(bd.program, bd.entity, 300_000 * YUAN)
    claim = submitted(bd, django_capture_on_commit_callbacks)
    # then the balance binds: 300,000 yuan
    assert claim.subsidy == 300_000 * YUAN
    terms = breakdown(bd.applicant, claim)
    assert (terms["bound_by"], terms["terms"]["rate"], terms["terms"]["voucher_balance"]) == (
        "voucher_balance",
        "500000.00",
        "300000.00",
    )


def test_baoding_both_rates_give_the_sixty_percent_rate_only(bd, django_capture_on_commit_callbacks):
    # given a major-project lead buying on the local platform
    issue_voucher(bd.program, bd.entity, 1_000_000 * YUAN)
    body = claim_body(bd, amount=1_000_000 * YUAN, conditions=("major_project_lead", "local_platform"))
    # when claimed
    claim = submitted(bd, django_capture_on_commit_callbacks, body)
    # then 60 % only (就高, not 110 %)
    assert claim.subsidy == 600_000 * YUAN
    assert [(r["code"], r["amount"]) for r in breakdown(bd.applicant, claim)["rules"]] == [
        ("major_project_lead", "600000.00"),
        ("local_platform", "500000.00"),
    ]


def test_a_denied_major_project_condition_falls_back_to_the_local_rate_and_lowers_the_hold(
    bd, django_capture_on_commit_callbacks
):
    voucher = issue_voucher(bd.program, bd.entity, 1_000_000 * YUAN)
    body = claim_body(bd, conditions=("major_project_lead", "local_platform"))
    claim = submitted(bd, django_capture_on_commit_callbacks, body)
    # when the first stage denies the major-project condition
    response = decide(bd.reviewer, claim, conditions=confirmations(claim, denied=("major_project_lead",)))
    # then the subsidy and the hold are recomputed at 50 %
    assert response.status_code == 200, response.json()
    claim.refresh_from_db()
    voucher.account.refresh_from_db()
    assert (claim.subsidy, claim.approved_amount, voucher.account.pending_debits) == (500_000 * YUAN,) * 3
    assert claim.stage_index == 1


def test_an_odd_fen_payout_in_a_city_district_splits_to_the_fen(bd, django_capture_on_commit_callbacks):
    # given a purchase whose half is an odd number of fen: 24,691.35 yuan → 12,345.67 (1,234,567 fen)
    voucher = issue_voucher(bd.program, bd.entity, 1_000_000 * YUAN)
    claim = submitted(bd, django_capture_on_commit_callbacks, claim_body(bd, amount=2_469_135))
    assert claim.subsidy == 1_234_567
    # when it is paid
    claim = approve_all(bd, claim)
    assert pay(bd, claim, django_capture_on_commit_callbacks).status_code == 202
    # then city and district share it 50/50, and the shares add up exactly (the city takes the odd fen)
    funding = budget_accounts(bd.program, voucher.fiscal_year).funding
    assert (balance(funding["city"]), balance(funding["district"])) == (617_284, 617_283)
    assert balance(funding["city"]) + balance(funding["district"]) == 1_234_567
    assert_budgets_add_up()


def test_dingzhou_a_province_administered_county_pays_all_of_it(bd, django_capture_on_commit_callbacks):
    # given an enterprise in 定州 (130682, 省直管县) with its own applicant
    dingzhou = make_org(jurisdiction="130682", category="enterprise", name="定州算力应用有限公司")
    applicant = make_user(dingzhou, "applicant", username="dz_applicant")
    voucher = issue_voucher(bd.program, dingzhou, 200_000 * YUAN)
    bd.entity, bd.applicant = dingzhou, applicant
    claim = submitted(bd, django_capture_on_commit_callbacks, claim_body(bd, amount=100_000 * YUAN))
    claim = approve_all(bd, claim)
    # when paid
    assert pay(bd, claim, django_capture_on_commit_callbacks).status_code == 202
    # then the county pays 100 %, the city nothing
    funding = budget_accounts(bd.program, voucher.fiscal_year).funding
    assert balance(funding["county"]) == 50_000 * YUAN
    assert balance(funding["city"]) == balance(funding["district"]) == 0


# --- Hohhot: only through the designated Horinger platform, and a redemption cites its order ---------------------


@pytest.fixture
def hohhot(bd):
    program = Program.objects.get(code="hohhot-2025-11-3-1")
    platform = program.issuing_agency.__class__.objects.get(name="和林格尔多云算力监测与调度平台")
    provider = list_provider("150123", platforms=(platform,))
    entity = make_org(jurisdiction="150102", category="enterprise", name="呼和浩特数智科技有限公司")
    applicant = make_user(entity, "applicant", username="hh_applicant")
    reviewer = make_user(program.issuing_agency, "reviewer", username="hh_reviewer")
    bd.program, bd.entity, bd.applicant, bd.provider, bd.reviewer = program, entity, applicant, provider, reviewer
    bd.platform_user = make_user(platform, "applicant", username="horinger")
    bd.platform = platform
    issue_voucher(program, entity, 500_000 * YUAN)
    return bd


def test_a_hohhot_claim_without_a_platform_order_is_refused(hohhot, django_capture_on_commit_callbacks):
    # when a Hohhot claim cites no order of the Horinger platform
    claim = submitted(
        hohhot, django_capture_on_commit_callbacks, claim_body(hohhot, amount=100_000 * YUAN, conditions=())
    )
    # then it is refused, saying why, with no ledger row
    assert claim.status == "refused"
    checks = {
        c["check"]: c
        for c in client_for(hohhot.applicant)
        .get(f"/api/v1/claims/{claim.pk}/", HTTP_ACCEPT_LANGUAGE="en")
        .json()["evaluation"]["checks"]
    }
    assert checks["platform_order"]["ok"] is False
    assert checks["platform_order"]["message"] == "The claim cites no order recorded by the designated platform."
    assert claim.holds.count() == 0


def test_a_hohhot_claim_citing_the_platforms_matching_order_is_accepted(hohhot, django_capture_on_commit_callbacks):
    # given the platform recorded the order
    body = claim_body(hohhot, amount=100_000 * YUAN, conditions=(), platform_order_number="HL-2026-0001")
    order, created = platform_order_record(
        actor=hohhot.platform_user,
        platform=hohhot.platform,
        order_number="HL-2026-0001",
        buyer_uscc=hohhot.entity.uscc,
        provider=hohhot.provider,
        amount=100_000 * YUAN,
        service_starts_on=date.fromisoformat(body["delivery"]["starts_on"]),
        service_ends_on=date.fromisoformat(body["delivery"]["ends_on"]),
    )
    assert created
    # when the claim cites it
    claim = submitted(hohhot, django_capture_on_commit_callbacks, body)
    # then it passes; a program without rates reimburses 100 % of the paid cost
    assert claim.status == "in_review", claim.outcome_reason
    assert claim.subsidy == 100_000 * YUAN
    assert Claim.objects.get(pk=claim.pk).platform_order == order


# --- Ningxia: valid 2023-09-15 to 2025-12-31 unless extended ---------------------------------------------------


@pytest.fixture
def ningxia(seeded, ningxia_agency, entity, monkeypatch):
    program = Program.objects.get(code="ningxia-2023-8-9")
    provider = list_provider("640104")
    applicant = make_user(entity, "applicant", username="nx_claimant")
    return program, provider, applicant


def _ningxia_claim(program, provider, entity, applicant, start, end):
    from tests.claims import Cast

    cast = Cast(program, program.issuing_agency, entity, applicant, None, None, None, None, provider)  # type: ignore[arg-type]
    body = claim_body(cast, amount=10_000 * YUAN, conditions=())
    body["delivery"].update(starts_on=start.isoformat(), ends_on=end.isoformat())
    body["contract"].update(starts_on=start.isoformat(), ends_on=end.isoformat(), signed_on=start.isoformat())
    for line in (*body["invoices"], *body["payments"]):
        line.update(issued_on=end.isoformat()) if "issued_on" in line else line.update(paid_on=end.isoformat())
    response = create(cast, body)
    assert response.status_code == 201, response.json()
    claim = Claim.objects.get(pk=response.json()["id"])
    attach_evidence(claim, applicant)
    claim_submit(actor=applicant, claim=claim)
    from voucher_service.claims.evaluation import claim_evaluate

    return claim_evaluate(claim_id=claim.pk)


def test_a_ningxia_delivery_ending_after_2025_is_refused_when_the_program_was_not_extended(
    ningxia, entity, monkeypatch
):
    program, provider, applicant = ningxia
    # given a voucher issued in 2025, while the program was in force
    freeze(monkeypatch, date(2025, 6, 1))
    budget_open(actor=SYSTEM, program=program, year=2025)
    voucher = issue_voucher(program, entity, 20_000 * YUAN, valid_from=date(2025, 6, 1))
    assert voucher.valid_until == date(2025, 12, 31)
    # when, in the claims grace of January 2026, a delivery from December to 5 January is claimed
    freeze(monkeypatch, date(2026, 1, 10))
    claim = _ningxia_claim(program, provider, entity, applicant, date(2025, 12, 1), date(2026, 1, 5))
    # then it is refused: the delivery runs past the program's end
    assert claim.status == "refused"
    failed = {c["check"] for c in claim.evaluations.get().checks if not c["ok"]}
    assert "delivery_window" in failed


def test_a_ningxia_delivery_after_2025_is_accepted_once_the_program_was_extended(ningxia, entity, monkeypatch):
    from voucher_service.programs.services import program_extend

    program, provider, applicant = ningxia
    admin = make_user(program.issuing_agency, "program_admin", username="nx_extender")
    # given the program extended to the end of 2026 (as 宁政办发〔2023〕37号 did for others), and a 2026 voucher
    freeze(monkeypatch, date(2026, 1, 2))
    program_extend(
        actor=admin, program=program, new_end=date(2026, 12, 31), reason="到期评估后延续", legal_reference="—"
    )
    program.refresh_from_db()
    budget_open(actor=SYSTEM, program=program, year=2026)
    issue_voucher(program, entity, 20_000 * YUAN, valid_from=date(2026, 1, 2))
    # when a delivery of early January 2026 is claimed
    freeze(monkeypatch, date(2026, 1, 10))
    claim = _ningxia_claim(program, provider, entity, applicant, date(2026, 1, 2), date(2026, 1, 8))
    # then it passes: 100 % of the paid cost (Ningxia states no rate)
    assert claim.status == "in_review", claim.outcome_reason
    assert claim.subsidy == 10_000 * YUAN


# --- Yinchuan: Art. 9 and Art. 14 stack, each within its cap; the talent award once ----------------------------


@pytest.fixture
def yinchuan(bd, monkeypatch):
    from voucher_service.programs.services import program_publish, program_update

    program = Program.objects.get(code="yinchuan-compute-capital-draft")
    admin = make_user(program.issuing_agency, "program_admin", username="yc_admin")
    program_update(
        actor=admin,
        program=program,
        valid_from=date(TODAY().year, 1, 1),
        valid_until=date(TODAY().year + 1, 12, 31),
        rules={"annual_cap": "50000000.00"},
    )
    program = program_publish(actor=admin, program=Program.objects.get(pk=program.pk))
    entity = make_org(jurisdiction="640104", category="enterprise", name="银川大模型科技有限公司")
    bd.program, bd.entity = program, entity
    bd.applicant = make_user(entity, "applicant", username="yc_applicant")
    bd.reviewer = make_user(program.issuing_agency, "reviewer", username="yc_reviewer")
    bd.reviewer2 = make_user(program.issuing_agency, "reviewer", username="yc_reviewer2")
    bd.finance = make_user(program.issuing_agency, "finance", username="yc_finance")
    bd.provider = list_provider("640104")
    issue_voucher(program, entity, 20_000_000 * YUAN)
    return bd


def test_yinchuans_two_articles_stack_each_within_its_cap_and_the_talent_award_is_paid_once(
    yinchuan, django_capture_on_commit_callbacks
):
    both = ("large_model_builder", "top_talent")
    # when a 10,000,000 yuan compute cost is claimed under both articles
    first = submitted(
        yinchuan, django_capture_on_commit_callbacks, claim_body(yinchuan, amount=10_000_000 * YUAN, conditions=both)
    )
    # then Art. 9 gives 30 % (3,000,000) and Art. 14 30 % capped at 2,000,000: 5,000,000 together
    assert first.subsidy == 5_000_000 * YUAN
    assert [(r["code"], r["amount"], r["note"]) for r in breakdown(yinchuan.applicant, first)["rules"]] == [
        ("large_model_builder", "3000000.00", ""),
        ("top_talent", "2000000.00", "cap"),
    ]
    # when a second claim asks for both again
    second = submitted(
        yinchuan, django_capture_on_commit_callbacks, claim_body(yinchuan, amount=10_000_000 * YUAN, conditions=both)
    )
    # then the talent award gives nothing (once), and Art. 9 only what is left of its 5,000,000 cap
    rules = {r["code"]: r for r in breakdown(yinchuan.applicant, second)["rules"]}
    assert (rules["top_talent"]["amount"], rules["top_talent"]["note"]) == ("0.00", "once_received")
    assert rules["large_model_builder"]["amount"] == "2000000.00"
    assert second.subsidy == 2_000_000 * YUAN
