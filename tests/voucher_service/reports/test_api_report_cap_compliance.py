"""GET /api/v1/reports/programs/{id}/cap-compliance/: the highest use of every cap, from the journal."""

from __future__ import annotations

import pytest

from tests.factories import client_for
from tests.voucher_service.reports.forgery import forge_entry
from voucher_service.programs.budgets import budget_accounts, current_fiscal_year

pytestmark = pytest.mark.django_db


def compliance(auditor, world, **query):
    url = f"/api/v1/reports/programs/{world.program.pk}/cap-compliance/"
    response = client_for(auditor).get(url, {"limit": 200, **query})
    assert response.status_code == 200, response.json()
    return response.json()


def by_subject(body):
    return {(row["cap_kind"], row["subject"]): row for row in body["results"]}


def test_caps_reached_exactly_are_compliant(auditor, world):
    # given the worked example, where both entities reach their 300.00 yearly cap exactly
    # when
    body = compliance(auditor, world)
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
    body = compliance(auditor, world, as_of=world.moment_1.isoformat())
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
    body = compliance(auditor, world)
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
    body = compliance(auditor, world)
    # then
    row = by_subject(body)[("voucher_balance", world.v2.serial)]
    assert (row["cap"], row["highest_use"], row["exceeded"]) == ("300.00", "400.00", True)
    assert body["compliant"] is False
