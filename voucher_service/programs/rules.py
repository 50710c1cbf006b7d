"""The typed rules of a program version, parsed from (and rendered back to) a JSON document.

A program's rules are data: an agency configures them, a fixture seeds them, and ``ProgramVersion.rules`` stores
them. This module is pure (no database): it validates a document field by field and turns it into frozen
dataclasses that the rest of the service reads.

Two renderings of the same document exist, differing only in how money is written:

* **stored** (``ProgramVersion.rules``): money is integer fen (``4000000000``);
* **api** (the REST API and the policy fixture): money is a yuan decimal string (``"40000000.00"``).

Rates and shares are always decimal strings (``"0.30"``), never floats. Document shape (api rendering)::

    {
      "annual_cap": "40000000.00",                  # face value that may be issued per fiscal year
      "eligible_categories": ["university", ...],   # accounts.models.EntityCategory values
      "provider_scope": {"mode": "in_jurisdiction" | "listed_platforms" | "designated_platform",
                         "platforms": [<platform organisation id>, ...]},
      "rate_rules": [{"code": "major_project_lead", "description": "…", "check": "reviewer",
                      "rate": "0.60", "cap": "5000000.00" | null, "once_per_entity": false}],
      "fixed_awards": [{"code": "settling_in", "description": "…", "check": "settled_in_fiscal_year",
                        "amount": "500000.00", "once_per_entity": true}],
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

``annual_cap`` may be null only while the program is a draft. Every key but ``eligible_categories`` has the
default POLICIES.md prescribes where a policy is silent. Validation errors are a ``ValidationError`` keyed by
dotted paths (``rate_rules.0.rate``), which the API renders as per-field errors.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, Literal

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from accounts.models import AdministrationType, EntityCategory, Role
from ledger.money import apply_rate_round_down, fen_to_yuan, yuan_to_fen

MoneyForm = Literal["yuan", "fen"]
ONE = Decimal(1)
_CODE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


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
    condition: Condition
    amount: int
    once_per_entity: bool = True


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


# The rule a program without any rate rule applies: 100 % of the eligible paid cost (POLICIES.md defaults).
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
        shares = self.funding_shares(admin_type)
        parts = [apply_rate_round_down(amount_fen, share.share) for share in shares]
        parts[0] += amount_fen - sum(parts)
        return [(share.payer, part) for share, part in zip(shares, parts, strict=True)]

    def payers(self) -> list[Payer]:
        """Every payer any split names, in a stable order (the funding-source accounts of a budget)."""
        named = {share.payer for shares in self.funding_split.values() for share in shares}
        return [payer for payer in Payer if payer in named]

    def voucher_expires_on(self, issued_on: date, fiscal_year: int) -> date:
        if self.voucher_validity.mode == ValidityMode.END_OF_FISCAL_YEAR:
            return date(fiscal_year, 12, 31)
        return add_months(issued_on, self.voucher_validity.months or 0)

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
            | {"rate": str(r.rate), "cap": _money_or_none(r.cap, money), "once_per_entity": r.once_per_entity}
            for r in rules.rate_rules
        ],
        "fixed_awards": [
            _condition(a.condition) | {"amount": money(a.amount), "once_per_entity": a.once_per_entity}
            for a in rules.fixed_awards
        ],
        "combination": rules.combination.value,
        "per_entity_annual_cap": _money_or_none(rules.per_entity_annual_cap, money),
        "voucher_validity": {"mode": rules.voucher_validity.mode.value, "months": rules.voucher_validity.months},
        "unused_amounts": rules.unused_amounts.value,
        "funding_split": {
            admin_type: [{"payer": s.payer.value, "share": str(s.share)} for s in shares]
            for admin_type, shares in rules.funding_split.items()
        },
        "review_stages": [{"name": s.name, "role": s.role} for s in rules.review_stages],
    }


# --- Parsing ------------------------------------------------------------------------------------------------


RATE_HOW = _('Send the rate as a decimal string such as "0.30".')
SHARE_HOW = _('Send the share as a decimal string such as "0.5".')


class _Errors:
    """Collects errors by dotted path so one response lists every problem, not just the first."""

    def __init__(self) -> None:
        self.by_path: dict[str, list[ValidationError]] = {}

    def add(self, path: str, message: Any, code: str = "invalid") -> None:
        self.by_path.setdefault(path, []).append(ValidationError(message, code=code))

    def raise_if_any(self) -> None:
        if self.by_path:
            raise ValidationError(self.by_path)


class _Parser:
    def __init__(self, money: MoneyForm) -> None:
        self.money = money
        self.errors = _Errors()

    # Scalars -----------------------------------------------------------------------------------------------

    def amount(self, value: Any, path: str, *, required: bool = True) -> int | None:
        if value is None:
            if required:
                self.errors.add(path, _("This field is required."), "required")
            return None
        try:
            fen = self._to_fen(value)
        except (ValueError, TypeError):
            message = (
                _('Send an amount in yuan as a decimal string with at most two decimals, such as "1000.00".')
                if self.money == "yuan"
                else _("An amount must be a whole number of fen.")
            )
            self.errors.add(path, message, "invalid_amount")
            return None
        if fen <= 0:
            self.errors.add(path, _("An amount must be greater than zero."), "min_value")
            return None
        return fen

    def _to_fen(self, value: Any) -> int:
        if isinstance(value, (bool, float)):
            raise TypeError("floats are refused")  # a binary float cannot hold most decimal amounts exactly
        if self.money == "fen":
            if not isinstance(value, int):
                raise TypeError("fen must be an int")
            return value
        return yuan_to_fen(value)

    def fraction(self, value: Any, path: str, how: Any) -> Decimal | None:
        """A rate or a share: a decimal string (or Decimal/int) with 0 < value <= 1."""
        if isinstance(value, (bool, float)) or not isinstance(value, (str, Decimal, int)):
            self.errors.add(path, how, "invalid")
            return None
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            self.errors.add(path, how, "invalid")
            return None
        if not number.is_finite() or number <= 0 or number > ONE:
            self.errors.add(path, _("It must be greater than 0 and at most 1 (100 %)."), "out_of_range")
            return None
        return number

    def choice(self, value: Any, path: str, enum: type[StrEnum] | Iterable[str], default: Any = None) -> Any:
        if value is None and default is not None:
            return default
        allowed = [str(item) for item in enum]
        if value not in allowed:
            self.errors.add(
                path,
                _("“%(value)s” is not one of: %(allowed)s.") % {"value": value, "allowed": ", ".join(allowed)},
                "invalid_choice",
            )
            return None
        return enum(value) if isinstance(enum, type) else value

    def text(self, value: Any, path: str, max_length: int = 500) -> str:
        if not isinstance(value, str) or not value.strip():
            self.errors.add(path, _("This field is required."), "required")
            return ""
        if len(value) > max_length:
            self.errors.add(path, _("At most %(n)d characters.") % {"n": max_length}, "max_length")
        return value.strip()

    def mapping(self, value: Any, path: str, allowed: set[str]) -> Mapping[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            self.errors.add(path, _("Expected an object."), "not_a_dict")
            return {}
        for key in sorted(set(value) - allowed):
            self.errors.add(f"{path}.{key}" if path else key, _("Unknown field."), "unknown_field")
        return value

    def sequence(self, value: Any, path: str) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            self.errors.add(path, _("Expected a list."), "not_a_list")
            return []
        return value

    # Parts -------------------------------------------------------------------------------------------------

    def condition(self, item: Mapping[str, Any], path: str, seen: set[str]) -> Condition:
        code = item.get("code")
        if not isinstance(code, str) or not _CODE.fullmatch(code):
            self.errors.add(f"{path}.code", _("A condition code is lower-case letters, digits and _."), "invalid")
            code = ""
        elif code in seen:
            self.errors.add(f"{path}.code", _("Each award condition code must be unique."), "unique")
        seen.add(code)
        check = self.choice(item.get("check"), f"{path}.check", ConditionCheck, ConditionCheck.REVIEWER)
        return Condition(code, self.text(item.get("description"), f"{path}.description"), check)

    def rate_rules(self, value: Any, seen: set[str]) -> tuple[RateRule, ...]:
        keys = {"code", "description", "check", "rate", "cap", "once_per_entity"}
        out = []
        for index, raw in enumerate(self.sequence(value, "rate_rules")):
            path = f"rate_rules.{index}"
            item = self.mapping(raw, path, keys)
            condition = self.condition(item, path, seen)
            rate = self.fraction(item.get("rate"), f"{path}.rate", RATE_HOW)
            cap = self.amount(item.get("cap"), f"{path}.cap", required=False)
            once = self.boolean(item.get("once_per_entity"), f"{path}.once_per_entity", default=False)
            if rate is not None:
                out.append(RateRule(condition, rate, cap, once))
        return tuple(out)

    def fixed_awards(self, value: Any, seen: set[str]) -> tuple[FixedAward, ...]:
        keys = {"code", "description", "check", "amount", "once_per_entity"}
        out = []
        for index, raw in enumerate(self.sequence(value, "fixed_awards")):
            path = f"fixed_awards.{index}"
            item = self.mapping(raw, path, keys)
            condition = self.condition(item, path, seen)
            amount = self.amount(item.get("amount"), f"{path}.amount")
            once = self.boolean(item.get("once_per_entity"), f"{path}.once_per_entity", default=True)
            if amount is not None:
                out.append(FixedAward(condition, amount, once))
        return tuple(out)

    def boolean(self, value: Any, path: str, *, default: bool) -> bool:
        if value is None:
            return default
        if not isinstance(value, bool):
            self.errors.add(path, _("Expected true or false."), "invalid")
            return default
        return value

    def categories(self, value: Any) -> tuple[str, ...]:
        items = self.sequence(value, "eligible_categories")
        if not items:
            self.errors.add("eligible_categories", _("Name at least one eligible entity category."), "required")
        for index, item in enumerate(items):
            self.choice(item, f"eligible_categories.{index}", EntityCategory.values)
        if len(set(map(str, items))) != len(items):
            self.errors.add("eligible_categories", _("A category is listed twice."), "unique")
        return tuple(str(item) for item in items)

    def provider_scope(self, value: Any) -> ProviderScope:
        item = self.mapping(value, "provider_scope", {"mode", "platforms"})
        mode = self.choice(item.get("mode"), "provider_scope.mode", ScopeMode, ScopeMode.IN_JURISDICTION)
        platforms = self.sequence(item.get("platforms"), "provider_scope.platforms")
        if any(isinstance(p, bool) or not isinstance(p, int) for p in platforms):
            self.errors.add("provider_scope.platforms", _("Platforms are organisation ids."), "invalid")
            return ProviderScope(mode or ScopeMode.IN_JURISDICTION, ())
        expected = {ScopeMode.IN_JURISDICTION: (0, 0), ScopeMode.DESIGNATED_PLATFORM: (1, 1)}
        low, high = expected.get(mode, (1, 10_000))
        if not low <= len(set(platforms)) <= high:
            message = {
                ScopeMode.IN_JURISDICTION: _("A jurisdiction scope names no platform."),
                ScopeMode.DESIGNATED_PLATFORM: _("A designated-platform scope names exactly one platform."),
            }.get(mode, _("Name at least one platform."))
            self.errors.add("provider_scope.platforms", message, "invalid")
        return ProviderScope(mode or ScopeMode.IN_JURISDICTION, tuple(sorted(set(platforms))))

    def voucher_validity(self, value: Any) -> VoucherValidity:
        item = self.mapping(value, "voucher_validity", {"mode", "months"})
        mode = self.choice(item.get("mode"), "voucher_validity.mode", ValidityMode, ValidityMode.END_OF_FISCAL_YEAR)
        months = item.get("months")
        if mode == ValidityMode.MONTHS_FROM_ISSUE:
            if isinstance(months, bool) or not isinstance(months, int) or not 1 <= months <= 120:
                self.errors.add("voucher_validity.months", _("Give a number of months from 1 to 120."), "invalid")
                months = None
        elif months is not None:
            self.errors.add("voucher_validity.months", _("Months apply only to months_from_issue."), "invalid")
            months = None
        return VoucherValidity(mode or ValidityMode.END_OF_FISCAL_YEAR, months)

    def funding_split(self, value: Any) -> dict[str, tuple[PayerShare, ...]]:
        if value is None:
            return dict(DEFAULT_FUNDING_SPLIT)
        item = self.mapping(value, "funding_split", set(AdministrationType.values))
        if AdministrationType.OTHER.value not in item:
            self.errors.add("funding_split.other", _("Say who pays where no other rule applies."), "required")
        out = {}
        for admin_type in AdministrationType.values:
            if admin_type in item:
                out[admin_type] = self.shares(item[admin_type], f"funding_split.{admin_type}")
        return out

    def shares(self, value: Any, path: str) -> tuple[PayerShare, ...]:
        out = []
        for index, raw in enumerate(self.sequence(value, path)):
            item = self.mapping(raw, f"{path}.{index}", {"payer", "share"})
            payer = self.choice(item.get("payer"), f"{path}.{index}.payer", Payer)
            share = self.fraction(item.get("share"), f"{path}.{index}.share", SHARE_HOW)
            if payer is not None and share is not None:
                out.append(PayerShare(payer, share))
        if len({s.payer for s in out}) != len(out):
            self.errors.add(path, _("A payer is listed twice."), "unique")
        if sum((s.share for s in out), Decimal(0)) != ONE:
            self.errors.add(path, _("The payers' shares must add up to exactly 1 (100 %)."), "invalid_total")
        return tuple(out)

    def review_stages(self, value: Any) -> tuple[ReviewStage, ...]:
        if value is None:
            return DEFAULT_REVIEW_STAGES
        items = self.sequence(value, "review_stages")
        if not items:
            self.errors.add("review_stages", _("A claim passes at least one review stage."), "required")
        out = []
        for index, raw in enumerate(items):
            item = self.mapping(raw, f"review_stages.{index}", {"name", "role"})
            name = self.text(item.get("name"), f"review_stages.{index}.name", 50)
            role = self.choice(item.get("role"), f"review_stages.{index}.role", [r.value for r in AGENCY_REVIEW_ROLES])
            out.append(ReviewStage(name, role or ""))
        return tuple(out)


TOP_LEVEL_KEYS = {
    "annual_cap",
    "eligible_categories",
    "provider_scope",
    "rate_rules",
    "fixed_awards",
    "combination",
    "per_entity_annual_cap",
    "voucher_validity",
    "unused_amounts",
    "funding_split",
    "review_stages",
}


def parse_rules(data: Any, *, money: MoneyForm) -> ProgramRules:
    """Validate a rules document and return its typed form, or raise ValidationError keyed by dotted paths."""
    parser = _Parser(money)
    if not isinstance(data, Mapping):
        parser.errors.add("non_field_errors", _("The rules must be an object."), "not_a_dict")
        parser.errors.raise_if_any()
    doc = parser.mapping(data, "", TOP_LEVEL_KEYS)
    seen: set[str] = set()
    rules = ProgramRules(
        annual_cap=parser.amount(doc.get("annual_cap"), "annual_cap", required=False),
        eligible_categories=parser.categories(doc.get("eligible_categories")),
        provider_scope=parser.provider_scope(doc.get("provider_scope")),
        rate_rules=parser.rate_rules(doc.get("rate_rules"), seen),
        fixed_awards=parser.fixed_awards(doc.get("fixed_awards"), seen),
        combination=parser.choice(doc.get("combination"), "combination", Combination, Combination.HIGHEST_ONLY),
        per_entity_annual_cap=parser.amount(doc.get("per_entity_annual_cap"), "per_entity_annual_cap", required=False),
        voucher_validity=parser.voucher_validity(doc.get("voucher_validity")),
        unused_amounts=parser.choice(
            doc.get("unused_amounts"), "unused_amounts", UnusedAmounts, UnusedAmounts.RETURN_TO_BUDGET
        ),
        funding_split=parser.funding_split(doc.get("funding_split")),
        review_stages=parser.review_stages(doc.get("review_stages")),
    )
    parser.errors.raise_if_any()
    return rules


def rules_from_document(document: Mapping[str, Any]) -> ProgramRules:
    """Read a stored rules document (money in fen)."""
    return parse_rules(document, money="fen")
