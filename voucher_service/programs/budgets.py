"""Fiscal-year budgets held in the ledger.

Ledger account layout
---------------------

Opening fiscal year ``Y`` of program ``P`` (``budget_open``) creates these ``ledger.Account`` rows, owned by the
program (generic owner), with codes ``programs:<P.pk>:<Y>:<role>``:

=====================  ==================================  ====================================================
role (code suffix)     limit flag                          what moves it
=====================  ==================================  ====================================================
``appropriation``      none (its balance is −cap)          opening and a cap raise: **debit**; a cap cut:
                                                           **credit**. Its only counterpart is ``budget``.
``budget``             ``debits_must_not_exceed_credits``  opening and a cap raise: **credit**; a cap cut:
                                                           **debit**. Issuance: **debit** (budget → voucher
                                                           account). Revocation/expiry with ``unused_amounts =
                                                           return_to_budget``: **credit** (voucher → budget)
``lapsed``             none                                revocation/expiry with ``lapse``: **credit**
                                                           (voucher → lapsed)
``funding:<payer>``    none                                redemption: **credit** each payer's share of the
                                                           paid subsidy (voucher → payers, split by
                                                           ``ProgramRules.split_amount``)
=====================  ==================================  ====================================================

The opening entry (idempotency key ``programs:<P.pk>:<Y>:open``) debits ``appropriation`` and credits ``budget``
with the annual cap of the version in force that year (at 31 December, or at the program's end if earlier); a
published rules change that moves the cap posts the difference (``programs:<P.pk>:<Y>:cap:v<N>``) in the open years
it governs (this year and later), and adds a ``funding:<payer>`` account for any payer its split newly names.
Because ``budget`` may never have more debits (posted + pending) than credits,
**the ledger itself refuses** an issuance (entry or hold) that would take the year over its cap, and a cap cut
below what is already issued.

Issuance takes these accounts from ``budget_require_open(program, year)``; issue with
``entry_post(lines=[(accounts.budget_account, "debit", fen), (voucher_account, "credit", fen)], …)`` or a hold
between the same accounts; return unused amounts to ``accounts.budget_account`` or lapse them to
``accounts.lapsed`` as ``rules.unused_amounts`` says; pay a redemption from the voucher account to
``accounts.funding[payer]`` for each ``(payer, fen)`` of ``rules.split_amount(fen, project_jurisdiction.admin_type)``.
``budget_open`` opens a year (inside the caller's transaction when there is one) if the daily job has not yet;
``budget_require_open`` is the accounts of an open year, or the refusal ``budget_not_open``.

The reads are in ``selectors.py``: ``budget_for``, ``budget_accounts`` (None for a year not open),
``budget_figures``, ``program_budget_figures``, ``current_fiscal_year``, ``budget_skip_reason``.

Reported figures (``budget_figures``), all read from the ledger's balance rows (A = appropriation, B = budget):

* cap = A debits − A credits; held = B pending debits;
* issued = B posted debits − A credits (cap cuts are B debits too);
* returned = B posted credits − A debits (the cap and its raises are B credits too);
* remaining = B credits − B debits − B pending debits; lapsed = lapsed credits; spent = the funding credits.

So ``remaining == cap − issued − held + returned`` always.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.utils.translation import gettext as _

from accounts.audit import audit_record
from core.errors import field_error
from core.transactions import lock_in_pk_order, service_write
from ledger.models import Account
from ledger.money import fen_to_yuan
from ledger.services import account_get_or_create, entry_post
from voucher_service.programs.errors import ProgramError, ProgramErrorCode
from voucher_service.programs.models import (
    BudgetFundingSource,
    FiscalYearBudget,
    Program,
    ProgramVersion,
    actor_user,
)
from voucher_service.programs.rules import ProgramRules
from voucher_service.programs.selectors import (
    OPENABLE_STATUSES,
    BudgetAccounts,
    budget_accounts,
    budget_figures,
    budget_skip_reason,
    current_fiscal_year,
    program_version_in_force,
    program_window_touches_year,
)

logger = logging.getLogger(__name__)
FIRST_YEAR, LAST_YEAR = 2000, 2200  # FiscalYearBudget's budget_year_range constraint


def account_code(program_id: int, year: int, role: str) -> str:
    return f"programs:{program_id}:{year}:{role}"


def opening_idempotency_key(program_id: int, year: int) -> str:
    return f"programs:{program_id}:{year}:open"


# --- Writes -------------------------------------------------------------------------------------------------


@service_write
def budget_open(*, actor: Any, program: Program, year: int) -> FiscalYearBudget:
    """Open ``year`` for ``program``: create its accounts and fund the budget with the annual cap. Idempotent.

    Publishing and extending a program open this year inside their own transaction (``services._open_this_year``).
    """
    locked = Program.objects.select_for_update().get(pk=program.pk)  # serialises concurrent openings
    existing = FiscalYearBudget.objects.filter(program=locked, year=year).first()
    if existing is not None:
        return existing
    version, rules, cap = _openable_rules(locked, year)
    budget = _create_budget(locked, year, version, rules, cap, actor=actor)
    entry = entry_post(
        actor=actor,
        idempotency_key=opening_idempotency_key(locked.pk, year),
        lines=[(budget.appropriation_account, "debit", budget.cap), (budget.budget_account, "credit", budget.cap)],
        memo=f"Open fiscal year {year} of {locked.code}",
        metadata={"program": locked.pk, "year": year, "version": version.number, "cap": budget.cap},
    )
    audit_record(
        actor=actor,
        action="budget.open",
        target=budget,
        organization=locked.issuing_agency,
        after={"program": locked.pk, "year": year, "cap": budget.cap, "version": version.number},
        detail={"entry": entry.pk, "payers": [p.value for p in rules.payers()]},
    )
    return budget


def _openable_rules(program: Program, year: int) -> tuple[ProgramVersion, ProgramRules, int]:
    """The version in force in ``year`` (at its last day, or at the program's end if earlier) and its cap.

    A past year is opened under the rules that governed it, not today's; a later cap change moves only the
    budgets of the year it is published in and after (``budget_sync_cap``).
    """
    _check_year(year)
    if program.status not in OPENABLE_STATUSES or not program_window_touches_year(program, year):
        raise ProgramError(
            ProgramErrorCode.INVALID_TRANSITION,
            _("Only a published program in force during %(year)d can open that year.") % {"year": year},
        )
    last_day = date(year, 12, 31)
    if program.valid_until is not None and program.valid_until < last_day:
        last_day = program.valid_until
    version = program_version_in_force(program, last_day)
    if version is None:
        raise ProgramError(
            ProgramErrorCode.INVALID_TRANSITION,
            _("No published version of the program was in force in %(year)d.") % {"year": year},
        )
    rules = version.parsed()
    if rules.annual_cap is None:
        raise ProgramError(
            ProgramErrorCode.INVALID_TRANSITION,
            _("Version %(number)d, in force in %(year)d, has no annual cap.")
            % {"number": version.number, "year": year},
        )
    return version, rules, rules.annual_cap


def _check_year(year: int) -> None:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ProgramError(
            ProgramErrorCode.INVALID_TRANSITION,
            _("A fiscal year is from %(first)d to %(last)d.") % {"first": FIRST_YEAR, "last": LAST_YEAR},
        )


def _create_budget(
    program: Program, year: int, version: ProgramVersion, rules: ProgramRules, cap: int, *, actor: Any
) -> FiscalYearBudget:
    """The budget row and its accounts (reusing any left by an opening that failed after creating them)."""
    budget = FiscalYearBudget.objects.create(
        program=program,
        year=year,
        version=version,
        cap=cap,
        appropriation_account=_account(program, year, "appropriation"),
        budget_account=_account(program, year, "budget", limit=True),
        lapsed_account=_account(program, year, "lapsed"),
        opened_by=actor_user(actor),
    )
    _ensure_funding_sources(budget, rules)
    return budget


def _account(program: Program, year: int, role: str, *, limit: bool = False) -> Account:
    code = account_code(program.pk, year, role)
    name = f"{program.code} {year} {role}"
    return account_get_or_create(code=code, name=name, owner=program, debits_must_not_exceed_credits=limit)[0]


def _ensure_funding_sources(budget: FiscalYearBudget, rules: ProgramRules) -> list[str]:
    """A funding-source account for every payer ``rules`` name that ``budget`` lacks (idempotent); the added."""
    have = set(budget.funding_sources.values_list("payer", flat=True))
    added = []
    for payer in rules.payers():
        if payer.value not in have:
            account = _account(budget.program, budget.year, f"funding:{payer}")
            BudgetFundingSource.objects.create(budget=budget, payer=payer.value, account=account)
            added.append(payer.value)
    return added


def budget_sync_cap(*, actor: Any, program: Program, version: ProgramVersion) -> list[FiscalYearBudget]:
    """After a published rules change, bring the open budgets of this year and later years (the years the new
    version governs) in line with it: move them to the new cap, and add a funding-source account for any payer
    the new split rules name that a budget lacks.

    Runs inside the caller's transaction (``program_update``). A cut below what is already issued or held is
    refused by the budget account's own limit (``LimitExceeded``), which rolls back the whole rules change.
    """
    rules = version.parsed()
    new_cap = rules.annual_cap
    changed = []
    budgets = FiscalYearBudget.objects.select_for_update().filter(program=program, year__gte=current_fiscal_year())
    for budget in budgets.select_related("program", "appropriation_account", "budget_account").order_by("year"):
        payers = _ensure_funding_sources(budget, rules)
        if payers:
            audit_record(
                actor=actor,
                action="budget.funding_sources",
                target=budget,
                organization=program.issuing_agency,
                after={"payers_added": payers, "version": version.number},
            )
        delta = (new_cap or budget.cap) - budget.cap
        if delta == 0:
            continue
        source, target = budget.appropriation_account, budget.budget_account
        if delta < 0:
            _refuse_cut_below_committed(budget, budget.cap + delta)
            source, target = target, source
        entry = entry_post(
            actor=actor,
            idempotency_key=f"programs:{program.pk}:{budget.year}:cap:v{version.number}",
            lines=[(source, "debit", abs(delta)), (target, "credit", abs(delta))],
            memo=f"Annual cap of {program.code} {budget.year} set by version {version.number}",
            metadata={"program": program.pk, "year": budget.year, "version": version.number, "cap": new_cap},
        )
        before = {"cap": budget.cap, "version": budget.version.number}
        budget.cap, budget.version = budget.cap + delta, version
        budget.save(update_fields=["cap", "version"])
        audit_record(
            actor=actor,
            action="budget.cap",
            target=budget,
            organization=program.issuing_agency,
            before=before,
            after={"cap": budget.cap, "version": version.number},
            detail={"entry": entry.pk},
        )
        changed.append(budget)
    return changed


def _refuse_cut_below_committed(budget: FiscalYearBudget, new_cap: int) -> None:
    """A cap cut below what the year has issued or holds is refused in the program's terms, before the ledger
    would refuse it in its own ("Account programs:3:2026:budget: debits would exceed credits").

    The budget account is locked first (the lock every issuance takes), so nothing is issued between the check
    and the cut.
    """
    lock_in_pk_order(Account, [budget.budget_account_id])
    figures = budget_figures(budget)
    committed = figures.cap - figures.remaining  # issued and held, less what came back
    if new_cap >= committed:
        return
    message = _(
        "The annual cap for %(year)d cannot be cut to %(new)s yuan: %(committed)s yuan of that year's budget is "
        "already issued or held by claims, so the cap can go down to %(committed)s yuan at the lowest."
    ) % {"year": budget.year, "new": fen_to_yuan(new_cap), "committed": fen_to_yuan(committed)}
    raise ProgramError(
        ProgramErrorCode.CAP_BELOW_COMMITTED,
        message,
        fields=field_error("rules.annual_cap", "below_committed", message),
        year=budget.year,
        cap=fen_to_yuan(figures.cap),
        committed=fen_to_yuan(committed),
    )


@dataclass
class YearOpening:
    """What ``budgets_open_year`` did: the budgets open (new or already), and each program it could not open."""

    year: int
    opened: list[FiscalYearBudget] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # program code -> why
    skipped: dict[str, str] = field(default_factory=dict)  # program code -> why it has no budget that year


def budgets_open_year(*, actor: Any, year: int) -> YearOpening:
    """Open ``year`` for every published (or suspended) program in force that year; one transaction each.

    Each program stands alone: one that cannot be opened is logged and reported in ``failed``, and the others
    are still opened (so one bad program never stops the 1 January opening of all the rest). Every other program
    is listed in ``skipped`` with the reason it has no budget that year.
    """
    _check_year(year)
    result = YearOpening(year)
    for program in Program.objects.order_by("pk"):
        reason = budget_skip_reason(program, year)
        if reason is not None:
            result.skipped[program.code] = reason
            continue
        try:
            result.opened.append(budget_open(actor=actor, program=program, year=year))
        except Exception as exc:  # any failure of one program must not stop the others
            logger.exception("Opening fiscal year %s of program %s failed", year, program.code)
            result.failed[program.code] = str(exc) or exc.__class__.__name__
    return result


def budget_require_open(program: Program, year: int) -> BudgetAccounts:
    """The ledger accounts of ``program``'s ``year`` for a write that moves its money; refused with
    ``budget_not_open`` when that year has not been opened."""
    accounts = budget_accounts(program, year)
    if accounts is None:
        raise _budget_not_open(year)
    return accounts


def budget_account_require_open(program: Program, year: int) -> int:
    """The id of the budget account of ``program``'s ``year`` (the account issuance debits), read alone: one
    column of one row, without the other accounts and funding sources ``budget_require_open`` brings. Refused
    the same way when that year has not been opened."""
    account_id = (
        FiscalYearBudget.objects.filter(program=program, year=year).values_list("budget_account_id", flat=True).first()
    )
    if account_id is None:
        raise _budget_not_open(year)
    return account_id


def _budget_not_open(year: int) -> ProgramError:
    return ProgramError(
        ProgramErrorCode.BUDGET_NOT_OPEN, _("Fiscal year %(year)d is not open for this program.") % {"year": year}
    )
