"""Automatic eligibility checks for a voucher (application, direct award, bulk row).

Each check answers with a code, pass/fail and a message the applicant can read. Submission refuses when any check
fails; issuance runs the same checks again under locks, because budgets and caps move between the two.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date

from django.utils.translation import gettext as _

from accounts.models import Organization, OrganizationKind
from accounts.selectors import organization_barred_until
from ledger.money import fen_to_yuan
from voucher_service.programs.models import Program
from voucher_service.programs.rules import ConditionCheck, FixedAward, ProgramRules, condition_met_by_records
from voucher_service.programs.selectors import (
    budget_remaining,
    program_issuance_refusal,
    program_version_in_force,
)
from voucher_service.vouchers.models import EntityYearTotal, Issuance, IssuanceStatus, OneTimeAward


@dataclass(frozen=True)
class Check:
    check: str
    ok: bool
    message: str

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class EligibilityReport:
    checks: list[Check]
    rules: ProgramRules | None

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    @property
    def failures(self) -> list[Check]:
        return [check for check in self.checks if not check.ok]

    def as_list(self) -> list[dict[str, object]]:
        return [check.as_dict() for check in self.checks]


def entity_category_ok(rules: ProgramRules, entity: Organization) -> bool:
    """An active entity (not an agency or provider) of a category the program accepts. The one definition used by
    submission, bulk upload and issuance alike."""
    return entity.kind == OrganizationKind.ENTITY and entity.is_active and rules.category_eligible(entity.category)


def entity_place_ok(program: Program, entity: Organization) -> bool:
    return program.jurisdiction.covers(entity.jurisdiction)


def fixed_award(rules: ProgramRules, award_code: str) -> FixedAward | None:
    return next((award for award in rules.fixed_awards if award.condition.code == award_code), None)


def entity_remaining_cap(program: Program, entity: Organization, year: int, rules: ProgramRules) -> int | None:
    """What the entity may still receive this year (None: no per-entity cap).

    The cap is the rules' in force, as issuance applies it (``issuance._apply_current_cap``): the copy on the
    entity's yearly total is the cap of its last issuance, stale once a published change has moved the cap.
    """
    cap = rules.per_entity_annual_cap
    if cap is None:
        return None
    total = (
        EntityYearTotal.objects.filter(program=program, entity=entity, fiscal_year=year)
        .values_list("issued", "returned")
        .first()
    )
    used = (total[0] - total[1]) if total is not None else 0
    return max(0, cap - used)


def _program_checks(program: Program, on: date) -> tuple[list[Check], ProgramRules | None]:
    refusal = program_issuance_refusal(program, on)
    if refusal is not None:
        return [Check("program_in_force", False, str(refusal))], None
    version = program_version_in_force(program, on)
    if version is None:  # a program marked published without a published version (never through the services)
        return [Check("program_in_force", False, _("The program has no published rules."))], None
    return [Check("program_in_force", True, _("The program is published and in force."))], version.parsed()


def entity_bar_check(entity: Organization, on: date) -> Check:
    """An entity under a bar (after a clawback for fraud) applies for nothing and claims nothing until it ends."""
    bar = organization_barred_until(entity, on)
    if bar is None:
        return Check("entity_not_barred", True, _("The entity is not barred."))
    return Check(
        "entity_not_barred",
        False,
        _("The entity is barred from applications and claims until %(until)s.") % {"until": bar.until.isoformat()},
    )


def _entity_checks(program: Program, entity: Organization, rules: ProgramRules, on: date) -> list[Check]:
    category_ok = entity_category_ok(rules, entity)
    place_ok = entity_place_ok(program, entity)
    return [
        entity_bar_check(entity, on),
        Check(
            "entity_category",
            category_ok,
            _("Category %(category)s is eligible.") % {"category": entity.get_category_display()}
            if category_ok
            else _("This program is not open to %(category)s.") % {"category": entity.get_category_display() or "—"},
        ),
        Check(
            "entity_jurisdiction",
            place_ok,
            _("The entity is located in the program's jurisdiction.")
            if place_ok
            else _("The entity is not located in %(place)s.") % {"place": program.jurisdiction.name},
        ),
    ]


def _award_checks(
    program: Program, entity: Organization, rules: ProgramRules, award_code: str, amount: int, year: int
) -> list[Check]:
    award = fixed_award(rules, award_code)
    if award is None:
        return [Check("award_exists", False, _("This program has no award %(code)s.") % {"code": award_code})]
    checks = [
        Check(
            "award_amount",
            amount == award.amount,
            _("The award is %(amount)s yuan.") % {"amount": fen_to_yuan(award.amount)},
        ),
        Check(
            "award_category",
            award.category_ok(entity.category),
            _("This award is open to %(category)s.") % {"category": entity.get_category_display()}
            if award.category_ok(entity.category)
            else _("This award is not open to %(category)s.") % {"category": entity.get_category_display() or "—"},
        ),
    ]
    if award.condition.check == ConditionCheck.SETTLED_IN_FISCAL_YEAR:
        settled = condition_met_by_records(award.condition, settled_on=entity.settled_on, fiscal_year=year)
        checks.append(
            Check(
                "award_condition",
                bool(settled),
                _("Settled in %(year)d.") % {"year": year}
                if settled
                else _("The entity did not settle here in %(year)d.") % {"year": year},
            )
        )
    if award.once_per_entity:
        checks.append(_award_once_check(program, entity, award_code))
    return checks


def _award_once_check(program: Program, entity: Organization, award_code: str) -> Check:
    """Granted already, or on its way (a grant or an approval queued and not yet issued): either way not again."""
    if OneTimeAward.objects.filter(program=program, entity=entity, award_code=award_code).exists():
        return Check("award_once", False, _("This award has already been granted to this entity."))
    pending = Issuance.objects.filter(
        program=program, entity=entity, award_code=award_code, status=IssuanceStatus.PENDING
    ).exists()
    if pending:
        return Check("award_once", False, _("This award is already being issued to this entity."))
    return Check("award_once", True, _("Not granted before."))


def _cap_checks(program: Program, entity: Organization, rules: ProgramRules, amount: int, year: int) -> list[Check]:
    remaining = entity_remaining_cap(program, entity, year, rules)
    entity_ok = remaining is None or amount <= remaining
    checks = [
        Check(
            "entity_cap",
            entity_ok,
            _("Within the entity's yearly cap.")
            if entity_ok
            else _("The entity may receive only %(left)s yuan more this year.") % {"left": fen_to_yuan(remaining or 0)},
        )
    ]
    left = budget_remaining(program, year)
    if left is None:
        checks.append(Check("budget", False, _("Fiscal year %(year)d is not open for this program.") % {"year": year}))
    else:
        checks.append(
            Check(
                "budget",
                amount <= left,
                _("Within the program's budget.")
                if amount <= left
                else _("The program's budget has only %(left)s yuan left this year.") % {"left": fen_to_yuan(left)},
            )
        )
    return checks


def eligibility_check(
    *, program: Program, entity: Organization, amount: int, year: int, on: date, award_code: str = ""
) -> EligibilityReport:
    checks, rules = _program_checks(program, on)
    if rules is None:
        return EligibilityReport(checks, None)
    checks += _entity_checks(program, entity, rules, on)
    if award_code:
        checks += _award_checks(program, entity, rules, award_code, amount, year)
    checks += _cap_checks(program, entity, rules, amount, year)
    return EligibilityReport(checks, rules)
