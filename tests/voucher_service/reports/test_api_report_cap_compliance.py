"""GET /api/v1/reports/programs/{id}/cap-compliance/: the highest use of every cap, from the journal."""

from __future__ import annotations

import pytest

from tests.factories import client_for
from tests.voucher_service.reports.forgery import forge_entry
from voucher_service.programs.budgets import budget_accounts, current_fiscal_year

pytestmark = pytest.mark.django_db


def compliance(auditor, program, **query):
    url = f"/api/v1/reports/programs/{program.pk}/cap-compliance/"
    response = client_for(auditor).get(url, {"limit": 200, **query})
    assert response.status_code == 200, response.json()
    return response.json()


def by_subject(body):
    return {(row["cap_kind"], row["subject"]): row for row in body["results"]}


def test_caps_reached_exactly_are_compliant(auditor, world):
    # given the worked example, where both entities reach their 300.00 yearly cap exactly
    # when
    body = compliance(auditor, world.program)
    # then
    year = current_fiscal_year()
    rows = by_subject(body)
    assert body["compliant"] is True
    assert body["exceeded"] == 0
    assert body["caps_checked"] == len(body["results"]) == 6
    budget = rows[("program_year_budget", f"nx-audit {year}")]
    assert (budget["cap"], budget["highest_use"], budget["exceeded"]) == ("1000.00", "600.00", False)
    for entity in (world.entity_a, world.entity_b):
        row = rows[("entity_year_cap", f"{entity.name} {year}")]
        assert (row["cap"], row["highest_use"], row["exceeded"]) == ("300.00", "300.00", False)
    v2 = rows[("voucher_balance", world.v2.serial)]
    assert (v2["cap"], v2["highest_use"], v2["exceeded"]) == ("300.00", "0.00", False)
    assert body["chain_head"]["height"] > 0


def test_as_of_the_first_moment_only_the_first_issuances_count(auditor, world):
    # when
    body = compliance(auditor, world.program, as_of=world.moment_1.isoformat())
    # then
    rows = by_subject(body)
    year = current_fiscal_year()
    assert rows[("program_year_budget", f"nx-audit {year}")]["highest_use"] == "500.00"
    assert rows[("entity_year_cap", f"{world.entity_a.name} {year}")]["highest_use"] == "200.00"
    assert world.v3.serial not in {row["subject"] for row in body["results"]}


def test_an_issuance_past_the_triggers_is_reported_as_exceeded(auditor, world, forged_ledger):
    # given 100.00 more from the budget to B's voucher, written straight into the journal
    accounts = budget_accounts(world.program, current_fiscal_year())
    forge_entry([(accounts.budget_account, "debit", 10_000), (world.v2.account, "credit", 10_000)], key="forged-1")
    # when
    body = compliance(auditor, world.program)
    # then B's yearly cap is exceeded (400.00 against 300.00), and the report says so plainly
    row = by_subject(body)[("entity_year_cap", f"{world.entity_b.name} {current_fiscal_year()}")]
    assert (row["cap"], row["highest_use"], row["exceeded"]) == ("300.00", "400.00", True)
    assert body["compliant"] is False
    assert body["exceeded"] == 1


def test_a_spend_past_a_voucher_balance_is_reported_as_exceeded(auditor, world, forged_ledger):
    # given 400.00 taken from B's 300.00 voucher, written straight into the journal
    accounts = budget_accounts(world.program, current_fiscal_year())
    forge_entry([(world.v2.account, "debit", 40_000), (accounts.lapsed, "credit", 40_000)], key="forged-2")
    # when
    body = compliance(auditor, world.program)
    # then
    row = by_subject(body)[("voucher_balance", world.v2.serial)]
    assert (row["cap"], row["highest_use"], row["exceeded"]) == ("300.00", "400.00", True)
    assert body["compliant"] is False


@pytest.fixture
def claimed(bd, django_capture_on_commit_callbacks, settings, tmp_path):
    """The claims part of the worked example (yuan), on a program with a 30,000 rule cap and a 100,000 entity cap:

    1. two vouchers of 50,000; claim 1 on 40,000 of cost at 50 % reserves 20,000 under the capped rule;
    2. a stage lowers it to 15,000 and it is paid so (partly paid: 15,000 of 20,000)              -> moment 1;
    3. claim 2 on 40,000: the rule has 15,000 left, so 15,000 (the rule cap reached exactly), paid;
    4. finance claws back 5,000 of claim 1 (the rule's count stays: the service keeps it)          -> moment 2.
    """
    from datetime import timedelta

    from tests.factories import make_org, make_user
    from tests.voucher_service.claims.conftest import Cast, approve_all, claim_body, issue_voucher, pay, submitted
    from tests.voucher_service.reports.world import sealed_now
    from voucher_service.programs.services import program_create, program_publish

    settings.MEDIA_ROOT = tmp_path / "media"
    capture = django_capture_on_commit_callbacks
    admin = make_user(bd.agency, "program_admin", username="bd_admin_caps")
    rules = {
        "annual_cap": "5000000.00",
        "eligible_categories": ["enterprise"],
        "per_entity_annual_cap": "100000.00",
        "rate_rules": [{"code": "capped", "description": "封顶", "rate": "0.50", "cap": "30000.00"}],
        "combination": "stack",
    }
    program = program_create(
        actor=admin, code="capped-rules", name="带上限的算力补贴", jurisdiction=bd.agency.jurisdiction,
        issuing_agency=bd.agency, rules=rules, valid_from=bd.program.valid_from, valid_until=bd.program.valid_until,
    )  # fmt: skip
    program = program_publish(actor=admin, program=program)
    entity = make_org(jurisdiction="130602", category="enterprise", name="保定封顶科技有限公司")
    cast = Cast(program, bd.agency, entity, make_user(entity, "applicant", username="caps_applicant"),
                bd.reviewer, bd.reviewer2, bd.finance, bd.auditor, bd.provider)  # fmt: skip
    for _ in range(2):
        issue_voucher(program, entity, 50_000 * 100)
    first = submitted(cast, capture, claim_body(cast, amount=40_000 * 100, conditions=("capped",)))
    assert first.subsidy == 20_000 * 100
    first = approve_all(cast, first, amount="15000.00", reason="部分费用不合规")
    assert pay(cast, first, capture).status_code == 202
    moment_1 = sealed_now()
    second = submitted(cast, capture, claim_body(cast, amount=40_000 * 100, conditions=("capped",)))
    assert second.subsidy == 15_000 * 100
    assert pay(cast, approve_all(cast, second), capture).status_code == 202
    clawback = client_for(bd.finance).post(
        f"/api/v1/claims/{first.pk}/clawback/", {"reason_code": "audit_finding", "amount": "5000.00"}, format="json"
    )
    assert clawback.status_code == 201, clawback.json()
    moment_2 = sealed_now() + timedelta(microseconds=1)
    return cast, moment_1, moment_2


def test_claims_rule_and_entity_caps_come_from_the_reserves_the_journal_holds(bd, claimed):
    cast, moment_1, moment_2 = claimed
    year = current_fiscal_year()
    rule_key = ("rule_cap", f"{cast.entity.name} capped")
    entity_key = ("entity_year_claims_cap", f"{cast.entity.name} {year}")
    # when read as of after the first payout, and now
    then = by_subject(compliance(bd.auditor, cast.program, as_of=moment_1.isoformat()))
    body = compliance(bd.auditor, cast.program)
    # then as of moment 1 the rule had counted 20,000 at most (claim 1's reserve, before it was paid 15,000)
    assert (then[rule_key]["cap"], then[rule_key]["highest_use"], then[rule_key]["events"]) == (
        "30000.00",
        "20000.00",
        2,
    )
    # and now it is reached exactly (15,000 paid + 15,000 paid), as is nothing else: compliant
    rows = by_subject(body)
    assert (rows[rule_key]["cap"], rows[rule_key]["highest_use"], rows[rule_key]["exceeded"]) == (
        "30000.00",
        "30000.00",
        False,
    )
    assert rows[rule_key]["events"] == 4
    assert (rows[entity_key]["cap"], rows[entity_key]["highest_use"]) == ("100000.00", "30000.00")
    assert body["compliant"] is True
    # the clawback of 5,000 changed no count: the same rows as of just after it
    assert by_subject(compliance(bd.auditor, cast.program, as_of=moment_2.isoformat())) == rows
