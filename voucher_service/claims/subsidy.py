"""The subsidy on a claim: a pure function of the rules, the eligible cost and the remainders read under locks.

The subsidy is the **minimum** of four terms (docs/POLICIES.md, "where the policies are silent"):

* ``rate``: the rate rules on the eligible cost. Each applicable rule gives ``rate × cost`` rounded down to the
  fen (``ledger.money.apply_rate_round_down``, the one rounding function), limited by what is left of its own
  ``cap``; a ``once_per_entity`` rule the entity has already received (in its ``period``) gives nothing.
  ``highest_only`` takes the highest such amount, ``stack`` their sum. A program with no rate rule gives 100 %;
* ``voucher_balance``: what the redeemed vouchers have available (balance less what other claims hold);
* ``entity_cap``: what the entity may still receive this fiscal year (``per_entity_annual_cap``), if capped;
* ``program_budget``: what the program's annual cap for the year still allows for claims.

``bound_by`` names the term that decided (the first, in that order, equal to the minimum). The subsidy is then
allocated: to rules (``highest_only``: all to the highest; ``stack``: each rule up to its award, in order) for the
rule caps, and to vouchers, soonest-expiring first, for the holds.

What a rule's ``cap`` and ``once_per_entity`` count over is the rule's ``period``: ``ever`` (the program's whole
life, the default) or ``fiscal_year`` (the claim's fiscal year, the one of the vouchers it redeems).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from ledger.money import apply_rate_round_down
from voucher_service.programs.rules import Combination, ProgramRules, RateRule, fraction_text

TERMS = ("rate", "voucher_balance", "entity_cap", "program_budget")


@dataclass(frozen=True)
class RuleUse:
    """What the entity has received under a rule in the rule's period: fen, and how many claims."""

    used: int = 0
    claims: int = 0


@dataclass(frozen=True)
class RuleTerm:
    code: str
    rate: str
    award: int  # rate × cost, before the rule's cap
    cap_left: int | None
    amount: int  # what the rule gives: the award within its cap, 0 if once and received
    note: str = ""


@dataclass(frozen=True)
class Breakdown:
    eligible_cost: int
    rules: tuple[RuleTerm, ...]
    terms: dict[str, int | None]
    subsidy: int
    bound_by: str
    rule_allocation: dict[str, int]
    voucher_allocation: list[tuple[int, int]]
    version: int
    pro_rating: dict[str, int] | None = None
    combination: str = Combination.HIGHEST_ONLY.value
    conditions: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["rules"] = [asdict(rule) for rule in self.rules]
        out["voucher_allocation"] = [list(pair) for pair in self.voucher_allocation]
        return out


def rule_terms(
    rules: ProgramRules, cost: int, conditions: Iterable[str], used: Mapping[str, RuleUse]
) -> tuple[RuleTerm, ...]:
    out = []
    for rule in rules.applicable_rate_rules(conditions):
        out.append(_rule_term(rule, cost, used.get(rule.condition.code, RuleUse())))
    return tuple(out)


def _rule_term(rule: RateRule, cost: int, use: RuleUse) -> RuleTerm:
    award = apply_rate_round_down(cost, rule.rate)
    cap_left = None if rule.cap is None else max(0, rule.cap - use.used)
    if rule.once_per_entity and use.claims >= 1:
        return RuleTerm(rule.condition.code, fraction_text(rule.rate), award, cap_left, 0, "once_received")
    amount = award if cap_left is None else min(award, cap_left)
    return RuleTerm(
        rule.condition.code, fraction_text(rule.rate), award, cap_left, amount, "cap" if amount < award else ""
    )


def _allocate_rules(terms: Sequence[RuleTerm], combination: str, subsidy: int) -> dict[str, int]:
    if not terms or subsidy == 0:
        return {}
    if combination == Combination.HIGHEST_ONLY:
        best = max(terms, key=lambda term: term.amount)  # max keeps the first of equals
        return {best.code: subsidy}
    out, left = {}, subsidy
    for term in terms:
        part = min(term.amount, left)
        if part > 0:
            out[term.code] = part
            left -= part
    return out


def allocate_vouchers(available: Sequence[tuple[int, int]], amount: int) -> list[tuple[int, int]]:
    """Take ``amount`` from the vouchers in their order (soonest-expiring first): [(voucher id, fen)]."""
    out, left = [], amount
    for voucher_id, free in available:
        part = min(free, left)
        if part > 0:
            out.append((voucher_id, part))
            left -= part
    return out


def compute(
    rules: ProgramRules,
    *,
    cost: int,
    conditions: Iterable[str],
    used: Mapping[str, RuleUse],
    vouchers: Sequence[tuple[int, int]],
    entity_left: int | None,
    budget_left: int | None,
    version: int,
    pro_rating: dict[str, int] | None = None,
) -> Breakdown:
    """The subsidy and its breakdown (see the module docstring). ``vouchers`` is [(id, available fen)] in order."""
    conditions = list(conditions)
    terms_by_rule = rule_terms(rules, cost, conditions, used)
    amounts = [term.amount for term in terms_by_rule]
    rate = (max(amounts) if rules.combination == Combination.HIGHEST_ONLY else sum(amounts)) if amounts else 0
    terms: dict[str, int | None] = {
        "rate": rate,
        "voucher_balance": sum(free for _id, free in vouchers),
        "entity_cap": None if entity_left is None else max(0, entity_left),
        "program_budget": None if budget_left is None else max(0, budget_left),
    }
    subsidy = min(value for value in terms.values() if value is not None)
    bound_by = next(name for name in TERMS if terms[name] == subsidy)
    return Breakdown(
        eligible_cost=cost,
        rules=terms_by_rule,
        terms=terms,
        subsidy=subsidy,
        bound_by=bound_by,
        rule_allocation=_allocate_rules(terms_by_rule, rules.combination, subsidy),
        voucher_allocation=allocate_vouchers(vouchers, subsidy),
        version=version,
        pro_rating=pro_rating,
        combination=rules.combination.value,
        conditions=conditions,
    )


def reallocate_rules(allocation: Mapping[str, int], combination: str, amount: int) -> dict[str, int]:
    """A lower amount (a stage approved less, an upheld objection) spread over the same rules, in the same order."""
    if combination == Combination.HIGHEST_ONLY and allocation:
        return {next(iter(allocation)): amount} if amount > 0 else {}
    out, left = {}, amount
    for code, part in allocation.items():
        take = min(part, left)
        if take > 0:
            out[code] = take
            left -= take
    return out
