"""The subsidy as a pure function: every term, which one binds, allocations, and what a rule's cap and
``once_per_entity`` count over (``period``)."""

from decimal import Decimal

import pytest

from voucher_service.claims.subsidy import RuleTerm, RuleUse, allocate_vouchers, compute, reallocate_rules
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


# --- the rules the mutants of ``subsidy.py`` asked for (``make mutation`` holds the module to this file) ---------


def test_a_rule_cap_used_up_exactly_gives_nothing_and_says_cap():
    # given Yinchuan's Art. 9 (30 %, at most 5,000,000 yuan), all 5,000,000 yuan of it received already
    used = {"model": RuleUse(used=5_000_000_00, claims=2)}
    # when a further 1,000,000 yuan of cost is claimed
    result = run(YINCHUAN, 1_000_000_00, ["model"], used=used)
    # then the rule has nothing left and gives nothing: the subsidy is zero and nothing is allocated
    assert result.rules == (RuleTerm("model", "0.3000", 300_000_00, 0, 0, "cap"),)
    assert (result.subsidy, result.bound_by, result.rule_allocation, result.voucher_allocation) == (0, "rate", {}, [])


def test_a_rule_cap_never_goes_below_zero():
    # given more received under Art. 9 than its cap (a cap lowered since)
    used = {"model": RuleUse(used=6_000_000_00, claims=3)}
    # when claimed again
    term = run(YINCHUAN, 1_000_000_00, ["model"], used=used).rules[0]
    # then what is left of the cap is zero, not negative
    assert (term.cap_left, term.amount, term.note) == (0, 0, "cap")


def test_a_rule_within_its_cap_and_a_once_rule_not_yet_received_give_their_award():
    # given nothing received yet under either Yinchuan rule
    # when 1,000,000 yuan is claimed under both
    result = run(YINCHUAN, 1_000_000_00, ["model", "talent"])
    # then each gives its 30 % in full, with what is left of its cap, and no note
    assert [(t.code, t.rate, t.award, t.cap_left, t.amount, t.note) for t in result.rules] == [
        ("model", "0.3000", 300_000_00, 5_000_000_00, 300_000_00, ""),
        ("talent", "0.3000", 300_000_00, 2_000_000_00, 300_000_00, ""),
    ]
    assert (result.subsidy, result.rule_allocation) == (600_000_00, {"model": 300_000_00, "talent": 300_000_00})


def test_once_per_entity_counts_claims_not_fen():
    # given a talent subsidy received once, for nothing left of the cap recorded (used 0)
    used = {"talent": RuleUse(used=0, claims=1), "model": RuleUse(used=0, claims=5)}
    # when claimed again
    result = run(YINCHUAN, 1_000_000_00, ["model", "talent"], used=used)
    # then the once rule gives nothing; the rule that is not "once" ignores how many claims there were
    assert result.rules == (
        RuleTerm("model", "0.3000", 300_000_00, 5_000_000_00, 300_000_00, ""),
        RuleTerm("talent", "0.3000", 300_000_00, 2_000_000_00, 0, "once_received"),
    )


def test_a_rule_without_a_cap_has_no_cap_left():
    # given Baoding's 60 % rule, which has no cap of its own
    # when 100,000 yuan is claimed under it
    term = run(BAODING, 100_000_00, ["major_project_lead"]).rules[0]
    # then the whole award is given and no cap is reported
    assert (term.award, term.cap_left, term.amount, term.note) == (60_000_00, None, 60_000_00, "")


def test_stack_allocates_a_bound_subsidy_to_the_rules_in_order():
    # given Yinchuan's two rules giving 300,000 and 200,000 yuan (stacked: 500,000)
    # when a voucher of 400,000 yuan binds the subsidy
    result = run(YINCHUAN, 1_000_000_00, ["model", "talent"], vouchers=[(5, 100_000_00), (6, 300_000_00)],
                 used={"talent": RuleUse(used=1_800_000_00, claims=0)})  # fmt: skip
    # then the first rule is given its award and the second what is left; the vouchers are drawn in order
    assert (result.terms["rate"], result.subsidy, result.bound_by) == (500_000_00, 400_000_00, "voucher_balance")
    assert result.rule_allocation == {"model": 300_000_00, "talent": 100_000_00}
    assert result.voucher_allocation == [(5, 100_000_00), (6, 300_000_00)]


def test_stack_leaves_out_a_rule_given_nothing():
    # given Yinchuan's rules where the first alone covers a subsidy bound by the entity's cap
    # when the entity may receive 250,000 yuan more
    result = run(YINCHUAN, 1_000_000_00, ["model", "talent"], entity_left=250_000_00)
    # then it all goes to the first rule; the second is not listed with zero
    assert (result.subsidy, result.bound_by) == (250_000_00, "entity_cap")
    assert result.rule_allocation == {"model": 250_000_00}
    # and one fen more than the first rule's award leaves that fen to the second
    result = run(YINCHUAN, 1_000_000_00, ["model", "talent"], entity_left=300_000_01)
    assert result.rule_allocation == {"model": 300_000_00, "talent": 1}


def test_highest_only_gives_it_all_to_the_first_of_equal_rules():
    # given two Baoding-style rules of the same rate
    program = rules(
        rate_rules=[
            {"code": "first", "description": "50 %", "rate": "0.50"},
            {"code": "second", "description": "50 %", "rate": "0.50"},
        ],
        combination="highest_only",
    )
    # when both apply
    result = run(program, 100_000, ["first", "second"])
    # then one of them is given the subsidy: the first
    assert (result.subsidy, result.rule_allocation) == (50_000, {"first": 50_000})


def test_highest_only_allocates_to_the_highest_even_when_listed_second():
    # given Baoding's rules (60 % listed first, 50 % second) and a program listing them the other way round
    program = rules(
        rate_rules=[
            {"code": "local_platform", "description": "50 %", "rate": "0.50"},
            {"code": "major_project_lead", "description": "60 %", "rate": "0.60"},
        ],
        combination="highest_only",
    )
    # when both apply and the voucher binds
    result = run(program, 100_000_00, ["local_platform", "major_project_lead"], vouchers=[(1, 55_000_00)])
    # then the whole subsidy goes to the 60 % rule
    assert (result.subsidy, result.rule_allocation) == (55_000_00, {"major_project_lead": 55_000_00})


def test_a_zero_subsidy_allocates_nothing_to_an_applicable_rule():
    # given a local-platform claim on a voucher with nothing available
    # when computed
    result = run(BAODING, 100_000_00, ["local_platform"], vouchers=[(1, 0)])
    # then the subsidy is zero, bound by the balance, and no rule or voucher is given anything
    assert (result.subsidy, result.bound_by, result.rule_allocation, result.voucher_allocation) == (
        0,
        "voucher_balance",
        {},
        [],
    )


def test_a_subsidy_of_one_fen_is_allocated():
    # given a claim where the program's budget has one fen left
    # when computed
    result = run(BAODING, 100_000_00, ["local_platform"], budget_left=1)
    # then that fen is the subsidy, allocated to the rule and the voucher
    assert (result.subsidy, result.bound_by, result.rule_allocation, result.voucher_allocation) == (
        1,
        "program_budget",
        {"local_platform": 1},
        [(1, 1)],
    )


def test_a_program_budget_overspent_gives_zero_not_less():
    # given a program-year whose claims reserved more than its cap (a cap lowered since)
    result = run(BAODING, 100_000_00, ["local_platform"], budget_left=-300)
    # then the budget term is zero and binds
    assert (result.terms["program_budget"], result.subsidy, result.bound_by) == (0, 0, "program_budget")


def test_no_applicable_condition_gives_a_zero_rate_and_no_allocation():
    # given Baoding's rules and a claim meeting neither condition
    result = run(BAODING, 100_000_00, [])
    # then there is no rule term, the rate term is zero and binds
    assert (result.rules, result.terms["rate"], result.bound_by, result.rule_allocation) == ((), 0, "rate", {})


def test_the_whole_breakdown_document():
    # given a stacked Yinchuan claim, pro-rated, over two vouchers
    result = compute(
        YINCHUAN,
        cost=1_000_000_00,
        conditions=("model", "talent"),
        used={"talent": RuleUse(used=1_900_000_00, claims=0)},
        vouchers=[(11, 250_000_00), (12, 1_000_000_00)],
        entity_left=None,
        budget_left=9_000_000_00,
        version=3,
        pro_rating={"days_inside": 30, "days": 61},
    )
    # when stored
    document = result.as_dict()
    # then every figure is there, in plain lists and dicts
    assert document == {
        "eligible_cost": 1_000_000_00,
        "rules": [
            {"code": "model", "rate": "0.3000", "award": 300_000_00, "cap_left": 5_000_000_00, "amount": 300_000_00,
             "note": ""},
            {"code": "talent", "rate": "0.3000", "award": 300_000_00, "cap_left": 100_000_00, "amount": 100_000_00,
             "note": "cap"},
        ],
        "terms": {"rate": 400_000_00, "voucher_balance": 1_250_000_00, "entity_cap": None,
                  "program_budget": 9_000_000_00},
        "subsidy": 400_000_00,
        "bound_by": "rate",
        "rule_allocation": {"model": 300_000_00, "talent": 100_000_00},
        "voucher_allocation": [[11, 250_000_00], [12, 150_000_00]],
        "version": 3,
        "pro_rating": {"days_inside": 30, "days": 61},
        "combination": "stack",
        "conditions": ["model", "talent"],
    }  # fmt: skip


def test_a_lower_amount_leaves_out_rules_it_does_not_reach():
    # given an allocation of 300 and 200 fen to two stacked rules
    # when the amount is cut to 300 or to 1, or one fen is approved under highest only
    # then the later rule is dropped rather than listed with zero
    assert reallocate_rules({"model": 300, "talent": 200}, "stack", 300) == {"model": 300}
    assert reallocate_rules({"model": 300, "talent": 200}, "stack", 1) == {"model": 1}
    assert reallocate_rules({"major": 600}, "highest_only", 1) == {"major": 1}
    assert reallocate_rules({"model": 300, "talent": 200}, "stack", 0) == {}
