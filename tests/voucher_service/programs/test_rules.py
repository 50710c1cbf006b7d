"""Unit tests of the typed rules layer (rules.py): parsing, per-field errors, and the rule arithmetic."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from voucher_service.programs.rules import (
    Combination,
    Payer,
    ValidityMode,
    VoucherValidity,
    add_months,
    condition_met_by_records,
)
from voucher_service.programs.rules_parser import parse_rules, rules_from_document

BASE = {"annual_cap": "10000000.00", "eligible_categories": ["tech_sme"]}
TWO_RATES = {
    **BASE,
    "rate_rules": [
        {"code": "major_project_lead", "description": "60 %", "rate": "0.60"},
        {"code": "local_platform", "description": "50 %", "rate": "0.50"},
    ],
}


def errors_of(document: dict, money: str = "yuan") -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as caught:
        parse_rules(document, money=money)  # type: ignore[arg-type]
    return {key: [e.code for e in errs] for key, errs in caught.value.error_dict.items()}


def test_defaults_follow_the_policies_where_silent():
    # given a document with only the required fields
    # when it is parsed
    rules = parse_rules(BASE, money="yuan")
    # then docs/POLICIES.md's defaults apply: 100 % rate, highest only, end of fiscal year, unused returns, 3 stages
    assert rules.annual_cap == 1_000_000_000
    assert rules.rate_award(12_345, []) == 12_345
    assert rules.combination == Combination.HIGHEST_ONLY
    assert rules.voucher_expires_on(date(2025, 3, 4), 2025) == date(2025, 12, 31)
    assert rules.unused_amounts == "return_to_budget"
    assert [(s.name, s.role) for s in rules.review_stages] == [
        ("初审", "reviewer"),
        ("复审", "reviewer"),
        ("财政", "finance"),
    ]
    assert rules.split_amount(1001, "city_district") == [(Payer.PROGRAM, 1001)]


def test_stored_and_api_renderings_round_trip():
    # given parsed rules
    rules = parse_rules(TWO_RATES, money="yuan")
    # when rendered in both forms and parsed back
    # then nothing changes, and money is fen in one form and yuan strings in the other
    assert parse_rules(rules.to_document(), money="fen") == rules
    assert parse_rules(rules.to_api(), money="yuan") == rules
    assert rules.to_document()["annual_cap"] == 1_000_000_000
    assert rules.to_api()["annual_cap"] == "10000000.00"


def test_highest_only_takes_the_better_rate_and_stack_adds_them():
    # given the Baoding-style 60 % and 50 % rules
    highest = parse_rules(TWO_RATES, money="yuan")
    stacked = parse_rules({**TWO_RATES, "combination": "stack"}, money="yuan")
    # when both conditions hold on a 1,000.01 元 purchase
    conditions = ["major_project_lead", "local_platform"]
    # then highest-only gives 60 % (rounded down to the fen), stack gives 110 %
    assert highest.rate_award(100_001, conditions) == 60_000
    assert highest.rate_award(100_001, ["local_platform"]) == 50_000
    assert highest.rate_award(100_001, []) == 0
    assert stacked.rate_award(100_001, conditions) == 60_000 + 50_000


def test_a_rule_cap_limits_what_remains_of_it():
    # given a 30 % rule capped at 5,000,000 元
    rules = parse_rules(
        {**BASE, "rate_rules": [{"code": "model", "description": "d", "rate": "0.30", "cap": "5000000.00"}]},
        money="yuan",
    )
    # when 4,900,000 元 has already been received under it
    # then a 1,000,000 元 purchase gives only the remaining 100,000 元
    assert rules.rate_award(100_000_000, ["model"], {"model": 490_000_000}) == 10_000_000


def test_funding_split_gives_leftover_fen_to_the_first_payer():
    # given a 50/50 city/district split and a 100 % county split
    rules = parse_rules(
        {
            **BASE,
            "funding_split": {
                "city_district": [{"payer": "city", "share": "0.5"}, {"payer": "district", "share": "0.5"}],
                "province_county": [{"payer": "county", "share": "1"}],
                "other": [{"payer": "city", "share": "1"}],
            },
        },
        money="yuan",
    )
    # when an odd amount is split
    # then it splits exactly, and the county pays all of a province-administered county's project
    assert rules.split_amount(1001, "city_district") == [(Payer.CITY, 501), (Payer.DISTRICT, 500)]
    assert rules.split_amount(1001, "province_county") == [(Payer.COUNTY, 1001)]
    assert rules.split_amount(1001, "other") == [(Payer.CITY, 1001)]
    assert rules.payers() == [Payer.CITY, Payer.DISTRICT, Payer.COUNTY]


@pytest.mark.parametrize(
    ("change", "path", "code"),
    [
        ({"annual_cap": "-1.00"}, "annual_cap", "invalid_amount"),  # no sign: the API's yuan string
        ({"annual_cap": 100}, "annual_cap", "invalid_amount"),
        ({"annual_cap": "0100"}, "annual_cap", "invalid_amount"),
        ({"annual_cap": "0"}, "annual_cap", "min_value"),
        ({"annual_cap": 1.5}, "annual_cap", "invalid_amount"),
        ({"annual_cap": "1.001"}, "annual_cap", "invalid_amount"),
        ({"eligible_categories": ["tech_sme", "alien"]}, "eligible_categories.1", "invalid_choice"),
        ({"eligible_categories": []}, "eligible_categories", "required"),
        ({"rate_rules": [{"code": "x", "description": "d", "rate": "1.5"}]}, "rate_rules.0.rate", "out_of_range"),
        ({"rate_rules": [{"code": "x", "description": "d", "rate": 0.3}]}, "rate_rules.0.rate", "invalid"),
        ({"rate_rules": [{"code": "X y", "description": "d", "rate": "0.3"}]}, "rate_rules.0.code", "invalid"),
        ({"combination": "sometimes"}, "combination", "invalid_choice"),
        ({"provider_scope": {"mode": "designated_platform", "platforms": []}}, "provider_scope.platforms", "invalid"),
        ({"voucher_validity": {"mode": "months_from_issue"}}, "voucher_validity.months", "invalid"),
        ({"funding_split": {"other": [{"payer": "city", "share": "0.6"}]}}, "funding_split.other", "invalid_total"),
        ({"funding_split": {"city_district": []}}, "funding_split.other", "required"),
        ({"review_stages": [{"name": "初审", "role": "applicant"}]}, "review_stages.0.role", "invalid_choice"),
        ({"surprise": 1}, "surprise", "unknown_field"),
    ],
)
def test_bad_documents_get_an_error_on_the_field(change, path, code):
    # given a document with one bad field
    # when it is parsed
    errors = errors_of({**BASE, **change})
    # then the error names that field and says why
    assert code in errors[path], errors


def test_every_error_is_reported_at_once():
    # given a document with three bad fields
    errors = errors_of(
        {"annual_cap": "-5", "eligible_categories": ["nope"], "rate_rules": [{"code": "a", "description": "d"}]}
    )
    # then all three are reported
    assert {"annual_cap", "eligible_categories.0", "rate_rules.0.rate"} <= set(errors)


def test_stored_money_must_be_integer_fen():
    assert "invalid_amount" in errors_of({**BASE, "annual_cap": "100.00"}, money="fen")["annual_cap"]


def test_voucher_validity_in_months_and_settling_condition():
    rules = parse_rules({**BASE, "voucher_validity": {"mode": "months_from_issue", "months": 12}}, money="yuan")
    assert rules.voucher_expires_on(date(2025, 3, 4), 2025) == date(2026, 3, 3)
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 28)
    settling = parse_rules(
        {
            **BASE,
            "fixed_awards": [
                {"code": "settling_in", "description": "d", "check": "settled_in_fiscal_year", "amount": "500000"}
            ],
        },
        money="yuan",
    ).fixed_awards[0]
    assert condition_met_by_records(settling.condition, settled_on=date(2025, 6, 1), fiscal_year=2025) is True
    assert condition_met_by_records(settling.condition, settled_on=date(2024, 6, 1), fiscal_year=2025) is False
    assert condition_met_by_records(settling.condition, settled_on=None, fiscal_year=2025) is False
    assert settling.amount == 50_000_000
    assert settling.once_per_entity is True
    assert parse_rules(TWO_RATES, money="yuan").rate_rules[0].rate == Decimal("0.60")


SETTLING = {"code": "settling_in", "description": "落户奖励", "check": "settled_in_fiscal_year", "amount": "500000.00"}
THREE_CATEGORIES = {**BASE, "eligible_categories": ["enterprise", "tech_sme", "research_institute", "maker"]}


def test_a_fixed_award_may_name_its_own_categories():
    # given an award for enterprises and research institutes in a program that also accepts makers
    rules = parse_rules(
        {**THREE_CATEGORIES, "fixed_awards": [{**SETTLING, "categories": ["enterprise", "research_institute"]}]},
        money="yuan",
    )
    (award,) = rules.fixed_awards
    # when the issuance code asks whether a category may receive it
    # then only the award's categories may, although the program accepts makers for its other rules
    assert award.categories == ("enterprise", "research_institute")
    assert award.category_ok("enterprise") is True
    assert award.category_ok("research_institute") is True
    assert award.category_ok("maker") is False
    assert rules.category_eligible("maker") is True
    # and the categories survive both renderings
    assert rules.to_api()["fixed_awards"][0]["categories"] == ["enterprise", "research_institute"]
    assert parse_rules(rules.to_document(), money="fen") == rules
    assert parse_rules(rules.to_api(), money="yuan") == rules


def test_a_fixed_award_without_categories_is_for_any_eligible_category():
    # given an award with no categories (absent, or an empty list)
    absent = parse_rules({**THREE_CATEGORIES, "fixed_awards": [SETTLING]}, money="yuan").fixed_awards[0]
    empty = parse_rules({**THREE_CATEGORIES, "fixed_awards": [{**SETTLING, "categories": []}]}, money="yuan")
    # then any category passes the award's own check (the program's eligibility is checked apart)
    assert absent.categories == ()
    assert absent.category_ok("maker") is True
    assert empty.fixed_awards[0].category_ok("enterprise") is True
    assert empty.to_document()["fixed_awards"][0]["categories"] == []


@pytest.mark.parametrize(
    ("categories", "path", "code"),
    [
        (["enterprise", "alien"], "fixed_awards.0.categories.1", "invalid_choice"),
        (["enterprise", "enterprise"], "fixed_awards.0.categories", "unique"),
        ("enterprise", "fixed_awards.0.categories", "not_a_list"),
        (["university"], "fixed_awards.0.categories.0", "not_eligible"),  # the program does not accept universities
    ],
)
def test_bad_award_categories_are_refused_on_the_field(categories, path, code):
    errors = errors_of({**THREE_CATEGORIES, "fixed_awards": [{**SETTLING, "categories": categories}]})
    assert code in errors[path], errors


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"per_entity_annual_cap": "10000000.01"}, "per_entity_annual_cap"),
        (
            {"rate_rules": [{"code": "a", "description": "d", "rate": "0.3", "cap": "20000000.00"}]},
            "rate_rules.0.cap",
        ),
        ({"fixed_awards": [{**SETTLING, "amount": "10000001.00"}]}, "fixed_awards.0.amount"),
    ],
)
def test_nothing_may_exceed_the_annual_cap(change, path):
    # given a 10,000,000 元 annual cap and an amount above it
    # when the document is parsed
    errors = errors_of({**BASE, **change})
    # then the amount is refused on its own field
    assert "exceeds_annual_cap" in errors[path], errors


def test_amounts_equal_to_the_cap_or_without_a_cap_are_accepted():
    at_cap = {
        **BASE,
        "per_entity_annual_cap": "10000000.00",
        "fixed_awards": [{**SETTLING, "amount": "10000000.00"}],
        "rate_rules": [{"code": "a", "description": "d", "rate": "0.3", "cap": "10000000.00"}],
    }
    assert parse_rules(at_cap, money="yuan").per_entity_annual_cap == 1_000_000_000
    # a draft without an annual cap has nothing to compare with yet
    assert parse_rules({**at_cap, "annual_cap": None}, money="yuan").annual_cap is None


@pytest.mark.parametrize(
    "rate", ["0.00001", "1E-7", "0.12345", "0.300000001"], ids=["5-places", "exponent", "5-places-b", "9-places"]
)
def test_rates_and_shares_have_at_most_four_decimal_places(rate):
    errors = errors_of(
        {
            **BASE,
            "rate_rules": [{"code": "a", "description": "d", "rate": rate}],
            "funding_split": {
                "other": [{"payer": "city", "share": "0.33333"}, {"payer": "county", "share": "0.66667"}]
            },
        }
    )
    assert "max_decimal_places" in errors["rate_rules.0.rate"], errors
    assert "max_decimal_places" in errors["funding_split.other.0.share"], errors


def test_rates_and_shares_are_rendered_with_four_places():
    # given rates and shares written in several ways
    rules = parse_rules(
        {
            **BASE,
            "rate_rules": [
                {"code": "a", "description": "d", "rate": "0.3"},
                {"code": "b", "description": "d", "rate": "1"},
                {"code": "c", "description": "d", "rate": "0.1234"},
                {"code": "e", "description": "d", "rate": "3E-1"},
                {"code": "f", "description": "d", "rate": "0.300000"},
            ],
            "funding_split": {"other": [{"payer": "city", "share": "0.5"}, {"payer": "county", "share": "0.50"}]},
        },
        money="yuan",
    )
    # then both renderings give fixed-point strings with exactly four decimals, never an exponent
    api = rules.to_api()
    assert [r["rate"] for r in api["rate_rules"]] == ["0.3000", "1.0000", "0.1234", "0.3000", "0.3000"]
    assert [s["share"] for s in api["funding_split"]["other"]] == ["0.5000", "0.5000"]
    assert rules.to_document()["rate_rules"] == api["rate_rules"]
    assert parse_rules(rules.to_document(), money="fen") == rules


CAPPED = {**BASE, "rate_rules": [{"code": "model", "description": "d", "rate": "0.30", "cap": "5000000.00"}]}


@pytest.mark.parametrize("received", [500_000_000, 500_000_001, 900_000_000])
def test_a_rate_rule_whose_cap_is_used_up_pays_nothing(received):
    # given a 30 % rule capped at 5,000,000 元, of which the entity received all (or more, after a cap was lowered)
    rules = parse_rules(CAPPED, money="yuan")
    # when it buys again
    # then the rule gives not a fen more
    assert rules.rate_award(100_000_000, ["model"], {"model": received}) == 0


def test_a_used_up_rule_leaves_the_others_to_stack():
    # given two stacking rules, one of whose caps is used up
    rules = parse_rules(
        {
            **CAPPED,
            "combination": "stack",
            "rate_rules": [*CAPPED["rate_rules"], {"code": "local", "description": "d", "rate": "0.10"}],
        },
        money="yuan",
    )
    # when both conditions hold
    # then only the other rule pays
    assert rules.rate_award(100_000, ["model", "local"], {"model": 500_000_000}) == 10_000


@pytest.mark.parametrize("received", [None, {}, {"other_rule": 400_000_000}])
def test_a_capped_rule_nothing_was_received_under_pays_up_to_its_whole_cap(received):
    # given a 30 % rule capped at 5,000,000 元, and nothing received under it
    rules = parse_rules(CAPPED, money="yuan")
    # when a purchase's 30 % is above the cap, or one fen below it
    # then the whole cap, or the 30 %
    assert rules.rate_award(2_000_000_000, ["model"], received) == 500_000_000
    assert rules.rate_award(1_666_666_663, ["model"], received) == 499_999_998
    assert rules.rate_award(1_666_666_667, ["model"], received) == 500_000_000


def test_a_program_without_rate_rules_reimburses_the_full_cost_whatever_the_conditions():
    rules = parse_rules(BASE, money="yuan")
    assert rules.rate_award(12_345, []) == 12_345
    assert rules.rate_award(12_345, ["anything"], {"full_cost": 10**9}) == 12_345


def test_an_unlisted_administration_type_is_split_as_other():
    # given a program that splits city/district projects and others differently
    rules = parse_rules(
        {
            **BASE,
            "funding_split": {
                "city_district": [{"payer": "city", "share": "0.5"}, {"payer": "district", "share": "0.5"}],
                "other": [{"payer": "province", "share": "0.3"}, {"payer": "county", "share": "0.7"}],
            },
        },
        money="yuan",
    )
    # when a project is in a province-administered county (not listed)
    # then the "other" split applies, the first payer taking the leftover fen
    assert rules.split_amount(1001, "province_county") == [(Payer.PROVINCE, 301), (Payer.COUNTY, 700)]
    assert rules.split_amount(1001, "city_district") == [(Payer.CITY, 501), (Payer.DISTRICT, 500)]
    assert rules.split_amount(0, "other") == [(Payer.PROVINCE, 0), (Payer.COUNTY, 0)]


@pytest.mark.parametrize(
    ("day", "months", "last_day"),
    [
        (date(2026, 1, 15), 12, date(2027, 1, 14)),
        (date(2026, 1, 1), 11, date(2026, 11, 30)),
        (date(2026, 12, 1), 1, date(2026, 12, 31)),
        (date(2026, 12, 31), 1, date(2027, 1, 30)),
        (date(2026, 11, 30), 2, date(2027, 1, 29)),
        (date(2026, 1, 31), 13, date(2027, 2, 27)),
        (date(2024, 2, 29), 12, date(2025, 2, 27)),
        (date(2026, 3, 4), 120, date(2036, 3, 3)),
    ],
)
def test_months_from_issue_end_the_day_before_the_same_day_months_later(day, months, last_day):
    assert add_months(day, months) == last_day


def test_months_from_issue_without_months_falls_back_to_the_end_of_the_fiscal_year():
    # given rules built in code (the parser refuses this document) with months from issue but no months
    rules = replace(
        parse_rules(BASE, money="yuan"), voucher_validity=VoucherValidity(ValidityMode.MONTHS_FROM_ISSUE, None)
    )
    # when / then
    assert rules.voucher_expires_on(date(2026, 3, 4), 2026) == date(2026, 12, 31)


def test_every_cap_is_rendered_in_fen_when_stored_and_in_yuan_for_the_api():
    # given rules with a rule cap and a per-entity cap, and a rule without a cap
    rules = parse_rules(
        {
            **CAPPED,
            "per_entity_annual_cap": "1000000.50",
            "rate_rules": [*CAPPED["rate_rules"], {"code": "local", "description": "d", "rate": "0.10"}],
        },
        money="yuan",
    )
    # when rendered
    stored, api = rules.to_document(), rules.to_api()
    # then
    assert [r["cap"] for r in stored["rate_rules"]] == [500_000_000, None]
    assert [r["cap"] for r in api["rate_rules"]] == ["5000000.00", None]
    assert (stored["per_entity_annual_cap"], api["per_entity_annual_cap"]) == (100_000_050, "1000000.50")
    assert rules_from_document(stored) == rules


def test_a_stored_document_is_read_with_money_in_fen():
    # given a stored document: money in integer fen
    # when read
    rules = rules_from_document({**BASE, "annual_cap": 100, "per_entity_annual_cap": 99})
    # then 100 fen is 1 元, and a yuan string is not stored money
    assert (rules.annual_cap, rules.per_entity_annual_cap) == (100, 99)
    with pytest.raises(ValidationError):
        rules_from_document(BASE)
