"""Parsing a rules document (stored or API rendering) into ``rules.ProgramRules``, field by field.

Every problem is collected under its dotted path (``rate_rules.0.rate``) and raised together as one
``ValidationError``, which the API renders as per-field errors. ``parse_rules`` (any rendering) and
``rules_from_document`` (a stored document) are the entry points; ``rules.py`` holds the types and imports nothing
from here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from accounts.models import AdministrationType, EntityCategory
from ledger.money import yuan_text_to_fen
from voucher_service.programs.rules import (
    AGENCY_REVIEW_ROLES,
    DEFAULT_FUNDING_SPLIT,
    DEFAULT_REVIEW_STAGES,
    FRACTION_PLACES,
    FRACTION_QUANTUM,
    ONE,
    Combination,
    Condition,
    ConditionCheck,
    FixedAward,
    MoneyForm,
    Payer,
    PayerShare,
    ProgramRules,
    ProviderScope,
    RateRule,
    ReviewStage,
    ScopeMode,
    UnusedAmounts,
    ValidityMode,
    VoucherValidity,
)

_CODE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


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
        return yuan_text_to_fen(value)  # the API's spelling: a string such as "1000.00", nothing looser

    def fraction(self, value: Any, path: str, how: Any) -> Decimal | None:
        """A rate or a share: a decimal string (or Decimal/int) with 0 < value <= 1."""
        if isinstance(value, (bool, float)) or not isinstance(value, (str, Decimal, int)):
            self.errors.add(path, how, "invalid")
            return None
        if self.money == "yuan" and not isinstance(value, str):  # the API's rules say "a decimal string"
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
        if number != number.quantize(FRACTION_QUANTUM):
            self.errors.add(path, _("At most %(n)d decimal places.") % {"n": FRACTION_PLACES}, "max_decimal_places")
            return None
        return number.quantize(FRACTION_QUANTUM)

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
        keys = {"code", "description", "check", "amount", "once_per_entity", "categories"}
        out = []
        for index, raw in enumerate(self.sequence(value, "fixed_awards")):
            path = f"fixed_awards.{index}"
            item = self.mapping(raw, path, keys)
            condition = self.condition(item, path, seen)
            amount = self.amount(item.get("amount"), f"{path}.amount")
            once = self.boolean(item.get("once_per_entity"), f"{path}.once_per_entity", default=True)
            categories = self.category_list(item.get("categories"), f"{path}.categories", required=False)
            if amount is not None:
                out.append(FixedAward(condition, amount, once, categories))
        return tuple(out)

    def boolean(self, value: Any, path: str, *, default: bool) -> bool:
        if value is None:
            return default
        if not isinstance(value, bool):
            self.errors.add(path, _("Expected true or false."), "invalid")
            return default
        return value

    def category_list(self, value: Any, path: str, *, required: bool = True) -> tuple[str, ...]:
        items = self.sequence(value, path)
        if not items and required:
            self.errors.add(path, _("Name at least one eligible entity category."), "required")
        for index, item in enumerate(items):
            self.choice(item, f"{path}.{index}", EntityCategory.values)
        if len(set(map(str, items))) != len(items):
            self.errors.add(path, _("A category is listed twice."), "unique")
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
        eligible_categories=parser.category_list(doc.get("eligible_categories"), "eligible_categories"),
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
    _check_against_each_other(rules, parser.errors)
    parser.errors.raise_if_any()
    return rules


def _check_against_each_other(rules: ProgramRules, errors: _Errors) -> None:
    """Cross-field checks: nothing may exceed the annual cap; an award's categories are the program's."""
    cap = rules.annual_cap
    over = _("It cannot exceed the annual cap.")
    if cap is not None:
        if rules.per_entity_annual_cap is not None and rules.per_entity_annual_cap > cap:
            errors.add("per_entity_annual_cap", over, "exceeds_annual_cap")
        for index, rule in enumerate(rules.rate_rules):
            if rule.cap is not None and rule.cap > cap:
                errors.add(f"rate_rules.{index}.cap", over, "exceeds_annual_cap")
        for index, award in enumerate(rules.fixed_awards):
            if award.amount > cap:
                errors.add(f"fixed_awards.{index}.amount", over, "exceeds_annual_cap")
    for index, award in enumerate(rules.fixed_awards):
        for position, category in enumerate(award.categories):
            if category in EntityCategory.values and not rules.category_eligible(category):
                errors.add(
                    f"fixed_awards.{index}.categories.{position}",
                    _("The program does not accept this category (see eligible_categories)."),
                    "not_eligible",
                )


def rules_from_document(document: Mapping[str, Any]) -> ProgramRules:
    """Read a stored rules document (money in fen)."""
    return parse_rules(document, money="fen")
