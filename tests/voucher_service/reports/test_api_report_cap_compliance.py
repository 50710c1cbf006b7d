"""GET /api/v1/reports/programs/{id}/cap-compliance/: the highest use of every cap, from the journal."""

from __future__ import annotations

import pytest

from tests.factories import client_for
from tests.voucher_service.reports.forgery import forge_entry
from voucher_service.programs.selectors import budget_accounts, current_fiscal_year

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


def test_claims_rule_and_entity_caps_come_from_the_reserves_the_journal_holds(bd, claimed):
    cast, moment_1, moment_2 = claimed.cast, claimed.moment_1, claimed.moment_2
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


def test_a_reserve_past_a_rule_cap_written_past_the_service_is_reported_as_exceeded(bd, claimed, forged_ledger):
    # given a hold of 10,000 more under the capped rule on claim 2, written straight into the tables (the service
    # would have found nothing left under the rule: 30,000 was reached)
    from django.utils import timezone

    from ledger.models import Hold
    from voucher_service.claims.models import ClaimHold

    original = ClaimHold.objects.filter(claim=claimed.second).select_related("hold").first()
    forged = Hold.objects.get(pk=original.hold_id)
    forged.pk, forged.entry, forged.resolved_at, forged.posted_amount = None, None, None, None
    forged.idempotency_key, forged.status, forged.amount = "forged-rule-hold", "pending", 1_000_000
    forged.created_at = timezone.now()
    forged.metadata = {"claim": claimed.second.pk, "reserve": 99, "subsidy": 1_000_000, "rules": {"capped": 1_000_000}}
    forged.save()
    ClaimHold.objects.create(claim=claimed.second, voucher=original.voucher, hold=forged, amount=1_000_000)
    # when
    body = compliance(bd.auditor, claimed.cast.program)
    # then the rule's highest use is 40,000 against its 30,000 cap, and the proof says so plainly
    row = by_subject(body)[("rule_cap", f"{claimed.cast.entity.name} capped")]
    assert (row["cap"], row["highest_use"], row["exceeded"]) == ("30000.00", "40000.00", True)
    assert body["compliant"] is False


def test_the_highest_uses_as_of_three_moments(auditor, world):
    # when read as of each moment of the worked example
    year = current_fiscal_year()
    budget, entity_a = ("program_year_budget", f"nx-audit {year}"), ("entity_year_cap", f"{world.entity_a.name} {year}")
    moments = (world.moment_1, world.moment_2, world.moment_3)
    seen = [by_subject(compliance(auditor, world.program, as_of=moment.isoformat())) for moment in moments]
    # then the budget's highest use is 500.00 by moment 1 (V1 + V2) and 600.00 from moment 2 (V3 issued before V1's
    # 200.00 returned); A's 200.00, then 300.00 (its cap, reached exactly); compliant throughout
    assert [rows[budget]["highest_use"] for rows in seen] == ["500.00", "600.00", "600.00"]
    assert [rows[entity_a]["highest_use"] for rows in seen] == ["200.00", "300.00", "300.00"]
    assert [("voucher_balance", world.v3.serial) in rows for rows in seen] == [False, True, True]
    assert not any(row["exceeded"] for rows in seen for row in rows.values())
