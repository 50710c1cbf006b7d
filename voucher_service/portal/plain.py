"""A program's rules in plain words, for the catalogue: presentation of ``ProgramRules``, deciding nothing."""

from __future__ import annotations

from decimal import Decimal

from django.utils.translation import gettext as _

from accounts.models import EntityCategory
from ledger.money import fen_to_yuan
from voucher_service.programs.rules import Combination, ProgramRules, ScopeMode, ValidityMode


def _percent(rate: Decimal) -> str:
    return f"{(rate * 100).normalize():f}%"


def _category(code: str) -> str:
    try:
        return str(EntityCategory(code).label)
    except ValueError:
        return code


def rules_in_words(rules: ProgramRules) -> list[str]:
    lines: list[str] = []
    if rules.eligible_categories:
        lines.append(_("Who may apply: %(who)s.") % {"who": "、".join(_category(c) for c in rules.eligible_categories)})
    for rule in rules.rate_rules:
        text = _("%(rate)s of the eligible paid cost when %(condition)s") % {
            "rate": _percent(rule.rate),
            "condition": rule.condition.description,
        }
        if rule.cap is not None:
            text += _(", at most %(cap)s yuan per organisation") % {"cap": fen_to_yuan(rule.cap)}
        lines.append(text + "。")
    for award in rules.fixed_awards:
        lines.append(
            _("A one-time award of %(amount)s yuan when %(condition)s.")
            % {"amount": fen_to_yuan(award.amount), "condition": award.condition.description}
        )
    if len(rules.rate_rules) > 1:
        lines.append(
            _("Only the most favourable rule applies.")
            if rules.combination == Combination.HIGHEST_ONLY
            else _("Every rule that applies adds up.")
        )
    if rules.per_entity_annual_cap is not None:
        lines.append(
            _("At most %(cap)s yuan per organisation per year.") % {"cap": fen_to_yuan(rules.per_entity_annual_cap)}
        )
    if rules.annual_cap is not None:
        lines.append(_("The yearly budget is %(cap)s yuan.") % {"cap": fen_to_yuan(rules.annual_cap)})
    if rules.provider_scope.mode == ScopeMode.IN_JURISDICTION:
        lines.append(_("Compute must be bought from a registered provider in the program's area."))
    else:
        lines.append(_("Compute must be bought through the program's listed platforms."))
    if rules.voucher_validity.mode == ValidityMode.MONTHS_FROM_ISSUE:
        lines.append(_("A voucher is valid %(months)d months from issue.") % {"months": rules.voucher_validity.months})
    else:
        lines.append(_("A voucher is valid until the end of the fiscal year."))
    if rules.claim_windows:
        lines.append(
            _("Claims are filed between %(windows)s each year.")
            % {"windows": "; ".join(w.text() for w in rules.claim_windows)}
        )
    stages = " → ".join(stage.name for stage in rules.review_stages)
    lines.append(_("Each claim is reviewed in stages: %(stages)s, by different people.") % {"stages": stages})
    if rules.notice_working_days:
        lines.append(
            _("Approved claims are published for %(days)d working days, during which anyone may object.")
            % {"days": rules.notice_working_days}
        )
    return lines
