"""The subsidy as a pure function: every term, which one binds, allocations, and what a rule's cap and
``once_per_entity`` count over (``period``)."""

from decimal import Decimal

import pytest

from voucher_service.claims.subsidy import RuleUse, allocate_vouchers, compute, reallocate_rules
from voucher_service.programs.rules_parser import parse_rules


def rules(**fields):
    return parse_rules({"annual_cap": "100000000.00", "eligible_categories": ["enterprise"], **fields}, money="yuan")


BAODING = rules(
    rate_rules=[
        {"code": "major_project_lead", "description": "60 %", "rate": "0.60"},
        {"code": "local_platform", "description": "50 %", "rate": "0.50"},
    ],
    combination="highest_only",
)
YINCHUAN = rules(
    rate_rules=[
        {"code": "model", "description": "Art. 9", "rate": "0.30", "cap": "5000000.00"},
        {"code": "talent", "description": "Art. 14", "rate": "0.30", "cap": "2000000.00", "once_per_entity": True},
    ],
    combination="stack",
)


def run(program, cost, conditions=(), *, used=None, vouchers=((1, 10**12),), entity_left=None, budget_left=None):
    return compute(
        program,
        cost=cost,
        conditions=conditions,
        used=used or {},
        vouchers=list(vouchers),
        entity_left=entity_left,
        budget_left=budget_left,
        version=1,
    )


def test_a_program_without_rates_reimburses_the_whole_cost():
    result = run(rules(), 123_456)
    assert (result.subsidy, result.bound_by, result.rules[0].code) == (123_456, "rate", "full_cost")


def test_highest_only_takes_the_highest_and_gives_it_all():
    result = run(BAODING, 100_001, ["major_project_lead", "local_platform"])
    assert result.subsidy == 60_000  # 0.6 × 100,001 = 60,000.6, down to the fen
    assert result.rule_allocation == {"major_project_lead": 60_000}


def test_no_applicable_condition_gives_nothing():
    assert run(BAODING, 100_000, []).subsidy == 0


def test_stack_adds_each_rule_within_its_cap_and_allocates_in_order():
    result = run(YINCHUAN, 10_000_000_00, ["model", "talent"])
    assert [(t.award, t.amount, t.note) for t in result.rules] == [
        (3_000_000_00, 3_000_000_00, ""),
        (3_000_000_00, 2_000_000_00, "cap"),
    ]
    assert result.subsidy == 5_000_000_00
    assert result.rule_allocation == {"model": 3_000_000_00, "talent": 2_000_000_00}


def test_a_rule_cap_counts_what_the_entity_received_already_and_once_means_once():
    used = {"model": RuleUse(used=4_000_000_00, claims=1), "talent": RuleUse(used=1, claims=1)}
    result = run(YINCHUAN, 10_000_000_00, ["model", "talent"], used=used)
    assert [(t.code, t.amount, t.note) for t in result.rules] == [
        ("model", 1_000_000_00, "cap"),
        ("talent", 0, "once_received"),
    ]
    assert result.subsidy == 1_000_000_00


@pytest.mark.parametrize(
    ("balance", "entity_left", "budget_left", "bound_by", "subsidy"),
    [
        (10**12, None, None, "rate", 50_000),
        (30_000, None, None, "voucher_balance", 30_000),
        (10**12, 20_000, None, "entity_cap", 20_000),
        (10**12, None, 10_000, "program_budget", 10_000),
        (10**12, 20_000, 10_000, "program_budget", 10_000),
        (10**12, -5, None, "entity_cap", 0),  # a row over its cap (a later cut) gives nothing, never less
        (50_000, 50_000, 50_000, "rate", 50_000),  # a tie names the first term
    ],
)
def test_the_subsidy_is_the_minimum_of_the_four_terms(balance, entity_left, budget_left, bound_by, subsidy):
    result = run(BAODING, 100_000, ["local_platform"], vouchers=[(1, balance)], entity_left=entity_left,
                 budget_left=budget_left)  # fmt: skip
    assert (result.bound_by, result.subsidy) == (bound_by, subsidy)


def test_vouchers_are_drawn_soonest_expiring_first():
    assert allocate_vouchers([(7, 300), (3, 500), (9, 900)], 700) == [(7, 300), (3, 400)]
    assert allocate_vouchers([(7, 0), (3, 500)], 200) == [(3, 200)]
    assert allocate_vouchers([(7, 300)], 0) == []


def test_a_lower_amount_is_spread_over_the_same_rules_in_order():
    assert reallocate_rules({"model": 300, "talent": 200}, "stack", 400) == {"model": 300, "talent": 100}
    assert reallocate_rules({"major": 600}, "highest_only", 250) == {"major": 250}
    assert reallocate_rules({"major": 600}, "highest_only", 0) == {}
    assert reallocate_rules({}, "stack", 10) == {}


def test_the_breakdown_keeps_every_term_and_the_version():
    document = run(BAODING, 100_000, ["local_platform"], entity_left=70_000).as_dict()
    assert document["terms"] == {
        "rate": 50_000,
        "voucher_balance": 10**12,
        "entity_cap": 70_000,
        "program_budget": None,
    }
    assert (document["version"], document["combination"], document["conditions"]) == (1, "highest_only",
                                                                                       ["local_platform"])  # fmt: skip
    assert document["rules"][0]["rate"] == str(Decimal("0.5000"))
