"""The typed rules of a program version, parsed from (and rendered back to) a JSON document.

A program's rules are data: an agency configures them, a fixture seeds them, and ``ProgramVersion.rules`` stores
them. This module is pure (no database): it validates a document field by field and turns it into frozen
dataclasses that the rest of the service reads.

Two renderings of the same document exist, differing only in how money is written:

* **stored** (``ProgramVersion.rules``): money is integer fen (``4000000000``);
* **api** (the REST API and the policy fixture): money is a yuan decimal string (``"40000000.00"``).

Rates and shares are always decimal strings with at most 4 decimals (``"0.30"``), never floats; they are
rendered with exactly 4 (``"0.3000"``). Document shape (api rendering)::

    {
      "annual_cap": "40000000.00",                  # face value that may be issued per fiscal year
      "eligible_categories": ["university", ...],   # accounts.models.EntityCategory values
      "provider_scope": {"mode": "in_jurisdiction" | "listed_platforms" | "designated_platform",
                         "platforms": [<platform organisation id>, ...]},
      "rate_rules": [{"code": "major_project_lead", "description": "…", "check": "reviewer",
                      "rate": "0.60", "cap": "5000000.00" | null, "once_per_entity": false}],
      "fixed_awards": [{"code": "settling_in", "description": "…", "check": "settled_in_fiscal_year",
                        "amount": "500000.00", "once_per_entity": true,
                        "categories": ["enterprise", ...]}],     # [] or absent: any eligible category
      "combination": "highest_only" | "stack",
      "per_entity_annual_cap": "1000000.00" | null,
      "voucher_validity": {"mode": "end_of_fiscal_year" | "months_from_issue", "months": null | 12},
      "unused_amounts": "return_to_budget" | "lapse",
      "funding_split": {"city_district": [{"payer": "city", "share": "0.5"}, {"payer": "district", "share": "0.5"}],
                        "province_county": [{"payer": "county", "share": "1"}],
                        "other": [{"payer": "program", "share": "1"}]},
      "review_stages": [{"name": "初审", "role": "reviewer"}, {"name": "复审", "role": "reviewer"},
                        {"name": "财政", "role": "finance"}]
    }

``annual_cap`` may be null only while the program is a draft (the services refuse it otherwise); when it is set,
no per-entity cap, rate-rule cap or fixed award may exceed it. Every key but ``eligible_categories`` has the
default docs/POLICIES.md prescribes where a policy is silent. Validation errors are a ``ValidationError`` keyed by
dotted paths (``rate_rules.0.rate``), which the API renders as per-field errors.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal

from accounts.models import AdministrationType, Role
from ledger.money import apply_rate_round_down, fen_to_yuan

MoneyForm = Literal["yuan", "fen"]
ONE = Decimal(1)


class ScopeMode(StrEnum):
    IN_JURISDICTION = "in_jurisdiction"  # providers located in the program's jurisdiction (or below it)
    LISTED_PLATFORMS = "listed_platforms"  # providers selling through any of the listed platforms
    DESIGNATED_PLATFORM = "designated_platform"  # exactly one platform, named by the program


class Combination(StrEnum):
    HIGHEST_ONLY = "highest_only"  # 就高从优不重复: only the most favourable applicable rule
    STACK = "stack"  # every applicable rule adds up


class ValidityMode(StrEnum):
    END_OF_FISCAL_YEAR = "end_of_fiscal_year"
    MONTHS_FROM_ISSUE = "months_from_issue"


class UnusedAmounts(StrEnum):
    RETURN_TO_BUDGET = "return_to_budget"
    LAPSE = "lapse"


class Payer(StrEnum):
    """Who funds a share of a subsidy, relative to the project's location."""

    PROGRAM = "program"  # the default payer: the program's own jurisdiction
    PROVINCE = "province"
    CITY = "city"
    DISTRICT = "district"
    COUNTY = "county"


class ConditionCheck(StrEnum):
    """How the service learns that an award's condition holds."""

    REVIEWER = "reviewer"  # the applicant supplies evidence and the review stages judge it
    SETTLED_IN_FISCAL_YEAR = "settled_in_fiscal_year"  # Organization.settled_on falls in the fiscal year


AGENCY_REVIEW_ROLES = (Role.REVIEWER, Role.FINANCE, Role.PROGRAM_ADMIN)


@dataclass(frozen=True)
class Condition:
    code: str
    description: str
    check: ConditionCheck = ConditionCheck.REVIEWER


@dataclass(frozen=True)
class RateRule:
    """Reimburse ``rate`` of the eligible paid cost; ``cap`` is the most one entity receives under this rule."""

    condition: Condition
    rate: Decimal
    cap: int | None = None
    once_per_entity: bool = False


@dataclass(frozen=True)
class FixedAward:
    """A one-time amount. ``categories`` narrows who may receive it (empty: any category the program accepts)."""

    condition: Condition
    amount: int
    once_per_entity: bool = True
    categories: tuple[str, ...] = ()

    def category_ok(self, category: str) -> bool:
        """May an entity of ``category`` receive this award? (The program's own eligibility is checked apart.)"""
        return not self.categories or category in self.categories


@dataclass(frozen=True)
class PayerShare:
    payer: Payer
    share: Decimal


@dataclass(frozen=True)
class ReviewStage:
    name: str
    role: str


@dataclass(frozen=True)
class ProviderScope:
    mode: ScopeMode = ScopeMode.IN_JURISDICTION
    platforms: tuple[int, ...] = ()


@dataclass(frozen=True)
class VoucherValidity:
    mode: ValidityMode = ValidityMode.END_OF_FISCAL_YEAR
    months: int | None = None


# The rule a program without any rate rule applies: 100 % of the eligible paid cost (docs/POLICIES.md, defaults).
FULL_COST = RateRule(condition=Condition("full_cost", "100 % of the eligible paid cost"), rate=ONE)
DEFAULT_FUNDING_SPLIT = {AdministrationType.OTHER.value: (PayerShare(Payer.PROGRAM, ONE),)}
DEFAULT_REVIEW_STAGES = (
    ReviewStage("初审", Role.REVIEWER.value),
    ReviewStage("复审", Role.REVIEWER.value),
    ReviewStage("财政", Role.FINANCE.value),
)


@dataclass(frozen=True)
class ProgramRules:
    annual_cap: int | None  # None only in a draft: a program is published with a cap
    eligible_categories: tuple[str, ...]
    provider_scope: ProviderScope = field(default_factory=ProviderScope)
    rate_rules: tuple[RateRule, ...] = ()
    fixed_awards: tuple[FixedAward, ...] = ()
    combination: Combination = Combination.HIGHEST_ONLY
    per_entity_annual_cap: int | None = None
    voucher_validity: VoucherValidity = field(default_factory=VoucherValidity)
    unused_amounts: UnusedAmounts = UnusedAmounts.RETURN_TO_BUDGET
    funding_split: Mapping[str, tuple[PayerShare, ...]] = field(default_factory=lambda: dict(DEFAULT_FUNDING_SPLIT))
    review_stages: tuple[ReviewStage, ...] = DEFAULT_REVIEW_STAGES

    # --- What the claim and issuance code asks ------------------------------------------------------------

    def category_eligible(self, category: str) -> bool:
        return category in self.eligible_categories

    def applicable_rate_rules(self, condition_codes: Iterable[str]) -> tuple[RateRule, ...]:
        """The rate rules whose condition holds. A program with no rate rule reimburses the full cost."""
        if not self.rate_rules:
            return (FULL_COST,)
        codes = set(condition_codes)
        return tuple(rule for rule in self.rate_rules if rule.condition.code in codes)

    def rate_award(
        self, cost_fen: int, condition_codes: Iterable[str], received_by_rule: Mapping[str, int] | None = None
    ) -> int:
        """The subsidy the rate rules give on ``cost_fen`` (before voucher balance, entity and budget caps).

        Each rule gives ``rate × cost`` rounded down to the fen, limited by what remains of its own cap
        (``received_by_rule``: fen already received by this entity per rule code). Combination then takes the
        highest, or the sum.
        """
        received = received_by_rule or {}
        awards = []
        for rule in self.applicable_rate_rules(condition_codes):
            amount = apply_rate_round_down(cost_fen, rule.rate)
            if rule.cap is not None:
                amount = min(amount, max(0, rule.cap - received.get(rule.condition.code, 0)))
            awards.append(amount)
        if not awards:
            return 0
        return max(awards) if self.combination == Combination.HIGHEST_ONLY else sum(awards)

    def funding_shares(self, admin_type: str) -> tuple[PayerShare, ...]:
        """Who pays for a project located in a division of ``admin_type`` ("other" covers unlisted types)."""
        return self.funding_split.get(admin_type) or self.funding_split[AdministrationType.OTHER.value]

    def split_amount(self, amount_fen: int, admin_type: str) -> list[tuple[Payer, int]]:
        """Split ``amount_fen`` between payers. Shares round down; the first payer takes the leftover fen."""
        parts = [
            (share.payer, apply_rate_round_down(amount_fen, share.share)) for share in self.funding_shares(admin_type)
        ]
        first_payer, first_part = parts[0]
        parts[0] = (first_payer, first_part + amount_fen - sum(part for _, part in parts))
        return parts

    def payers(self) -> list[Payer]:
        """Every payer any split names, in a stable order (the funding-source accounts of a budget)."""
        named = {share.payer for shares in self.funding_split.values() for share in shares}
        return [payer for payer in Payer if payer in named]

    def voucher_expires_on(self, issued_on: date, fiscal_year: int) -> date:
        """The last day a voucher issued on ``issued_on`` may be spent. Months from issue without a number of
        months (which the parser never lets through) falls back to the default, the end of the fiscal year."""
        months = self.voucher_validity.months
        if self.voucher_validity.mode == ValidityMode.END_OF_FISCAL_YEAR or months is None:
            return date(fiscal_year, 12, 31)
        return add_months(issued_on, months)

    # --- Renderings -------------------------------------------------------------------------------------------

    def to_document(self) -> dict[str, Any]:
        """The stored rendering (money in fen)."""
        return _render(self, lambda fen: fen)

    def to_api(self) -> dict[str, Any]:
        """The API / fixture rendering (money in yuan strings)."""
        return _render(self, fen_to_yuan)


def add_months(day: date, months: int) -> date:
    """``day`` plus ``months`` calendar months, then the day before (12 months from 03-04 runs to next 03-03)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    end = date(year, month, min(day.day, calendar.monthrange(year, month)[1]))
    return date.fromordinal(end.toordinal() - 1)


def condition_met_by_records(condition: Condition, *, settled_on: date | None, fiscal_year: int) -> bool | None:
    """True/False when the records decide the condition; None when a reviewer must judge the evidence."""
    if condition.check == ConditionCheck.SETTLED_IN_FISCAL_YEAR:
        return settled_on is not None and settled_on.year == fiscal_year
    return None


FRACTION_PLACES = 4  # rates and shares: at most 4 decimal places (0.0001 = 0.01 %)
FRACTION_QUANTUM = Decimal(1).scaleb(-FRACTION_PLACES)


def fraction_text(value: Decimal) -> str:
    """A rate or share as a fixed-point string with exactly 4 decimals ("0.3000"), never an exponent form."""
    return f"{value.quantize(FRACTION_QUANTUM):f}"


def _money_or_none(value: int | None, render: Callable[[int], Any]) -> Any:
    return None if value is None else render(value)


def _condition(condition: Condition) -> dict[str, Any]:
    return {"code": condition.code, "description": condition.description, "check": condition.check.value}


def _render(rules: ProgramRules, money: Callable[[int], Any]) -> dict[str, Any]:
    return {
        "annual_cap": _money_or_none(rules.annual_cap, money),
        "eligible_categories": list(rules.eligible_categories),
        "provider_scope": {"mode": rules.provider_scope.mode.value, "platforms": list(rules.provider_scope.platforms)},
        "rate_rules": [
            _condition(r.condition)
            | {"rate": fraction_text(r.rate), "cap": _money_or_none(r.cap, money), "once_per_entity": r.once_per_entity}
            for r in rules.rate_rules
        ],
        "fixed_awards": [
            _condition(a.condition)
            | {"amount": money(a.amount), "once_per_entity": a.once_per_entity, "categories": list(a.categories)}
            for a in rules.fixed_awards
        ],
        "combination": rules.combination.value,
        "per_entity_annual_cap": _money_or_none(rules.per_entity_annual_cap, money),
        "voucher_validity": {"mode": rules.voucher_validity.mode.value, "months": rules.voucher_validity.months},
        "unused_amounts": rules.unused_amounts.value,
        "funding_split": {
            admin_type: [{"payer": s.payer.value, "share": fraction_text(s.share)} for s in shares]
            for admin_type, shares in rules.funding_split.items()
        },
        "review_stages": [{"name": s.name, "role": s.role} for s in rules.review_stages],
    }
