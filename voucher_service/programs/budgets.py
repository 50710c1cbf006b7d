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

For the issuance issue: ``budget_accounts(program, year)`` returns these accounts; issue with
``entry_post(lines=[(accounts.budget_account, "debit", fen), (voucher_account, "credit", fen)], …)`` or a hold
between the same accounts; return unused amounts to ``accounts.budget_account`` or lapse them to
``accounts.lapsed`` as ``rules.unused_amounts`` says; pay a redemption from the voucher account to
``accounts.funding[payer]`` for each ``(payer, fen)`` of ``rules.split_amount(fen, project_jurisdiction.admin_type)``.
``budget_ensure_open`` opens a year inside the caller's transaction if the daily job has not yet.

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

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.audit import audit_record
from ledger.concurrency import lock_in_pk_order
from ledger.models import Account
from ledger.money import fen_to_yuan
from ledger.services import account_get_or_create, entry_post
from voucher_service.programs.errors import ProgramError, ProgramErrorCode
from voucher_service.programs.models import (
    BudgetFundingSource,
    FiscalYearBudget,
    Program,
    ProgramStatus,
    ProgramVersion,
    actor_user,
)
from voucher_service.programs.rules import ProgramRules
from voucher_service.programs.selectors import program_version_in_force, program_window_touches_year

logger = logging.getLogger(__name__)
OPENABLE_STATUSES = (ProgramStatus.PUBLISHED, ProgramStatus.SUSPENDED)
FIRST_YEAR, LAST_YEAR = 2000, 2200  # FiscalYearBudget's budget_year_range constraint


def account_code(program_id: int, year: int, role: str) -> str:
    return f"programs:{program_id}:{year}:{role}"


def opening_idempotency_key(program_id: int, year: int) -> str:
    return f"programs:{program_id}:{year}:open"


# --- Writes -------------------------------------------------------------------------------------------------


def budget_ensure_open(*, actor: Any, program: Program, year: int) -> FiscalYearBudget:
    """``budget_open`` inside the caller's transaction (issuance may open the year lazily). Idempotent."""
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


@transaction.atomic(durable=True)
def budget_open(*, actor: Any, program: Program, year: int) -> FiscalYearBudget:
    """Open ``year`` for ``program``: create its accounts and fund the budget with the annual cap. Idempotent."""
    return budget_ensure_open(actor=actor, program=program, year=year)


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
        fields={"rules.annual_cap": [{"code": "below_committed", "message": message}]},
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


def why_no_budget(program: Program, year: int) -> str | None:
    """Why ``program`` has no budget to open in ``year`` (a draft, a window that misses the year, expired), or
    None when it should have one."""
    if program.status == ProgramStatus.DRAFT:
        return _("a draft: it has no budget until it is published")
    if program.valid_from is not None and program.valid_from > date(year, 12, 31):
        return _("its window starts on %(day)s, after %(year)d") % {"day": program.valid_from, "year": year}
    if program.valid_until is not None and program.valid_until < date(year, 1, 1):
        return _("its window ended on %(day)s, before %(year)d") % {"day": program.valid_until, "year": year}
    if program.status not in OPENABLE_STATUSES:
        return _("it has expired (its window ended on %(day)s)") % {"day": program.valid_until}
    return None


def budgets_open_year(*, actor: Any, year: int) -> YearOpening:
    """Open ``year`` for every published (or suspended) program in force that year; one transaction each.

    Each program stands alone: one that cannot be opened is logged and reported in ``failed``, and the others
    are still opened (so one bad program never stops the 1 January opening of all the rest). Every other program
    is listed in ``skipped`` with the reason it has no budget that year.
    """
    _check_year(year)
    result = YearOpening(year)
    for program in Program.objects.order_by("pk"):
        reason = why_no_budget(program, year)
        if reason is not None:
            result.skipped[program.code] = reason
            continue
        try:
            result.opened.append(budget_open(actor=actor, program=program, year=year))
        except Exception as exc:  # any failure of one program must not stop the others
            logger.exception("Opening fiscal year %s of program %s failed", year, program.code)
            result.failed[program.code] = str(exc) or exc.__class__.__name__
    return result


def current_fiscal_year() -> int:
    return timezone.localdate().year


# --- Reads --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BudgetAccounts:
    budget: FiscalYearBudget
    appropriation: Account
    budget_account: Account
    lapsed: Account
    funding: dict[str, Account]


@dataclass(frozen=True)
class BudgetFigures:
    year: int
    cap: int
    issued: int
    held: int
    spent: int
    returned: int
    lapsed: int
    remaining: int


def budget_for(program: Program, year: int) -> FiscalYearBudget | None:
    return FiscalYearBudget.objects.filter(program=program, year=year).first()


def budget_accounts(program: Program, year: int) -> BudgetAccounts:
    """The ledger accounts of ``program``'s ``year``; raises ``ProgramError(budget_not_open)`` if not opened."""
    budget = (
        FiscalYearBudget.objects.select_related("appropriation_account", "budget_account", "lapsed_account")
        .filter(program=program, year=year)
        .first()
    )
    if budget is None:
        raise ProgramError(
            ProgramErrorCode.BUDGET_NOT_OPEN, _("Fiscal year %(year)d is not open for this program.") % {"year": year}
        )
    return BudgetAccounts(
        budget=budget,
        appropriation=budget.appropriation_account,
        budget_account=budget.budget_account,
        lapsed=budget.lapsed_account,
        funding={source.payer: source.account for source in budget.funding_sources.select_related("account")},
    )


def budget_figures(budget: FiscalYearBudget) -> BudgetFigures:
    ids = [budget.appropriation_account_id, budget.budget_account_id, budget.lapsed_account_id]
    funding_ids = list(budget.funding_sources.values_list("account_id", flat=True))
    rows = {account.pk: account for account in Account.objects.filter(pk__in=ids + funding_ids)}
    appropriation, main, lapsed = (rows[pk] for pk in ids)
    return BudgetFigures(
        year=budget.year,
        cap=appropriation.posted_debits - appropriation.posted_credits,
        issued=main.posted_debits - appropriation.posted_credits,
        held=main.pending_debits,
        spent=sum(rows[pk].posted_credits for pk in funding_ids),
        returned=main.posted_credits - appropriation.posted_debits,
        lapsed=lapsed.posted_credits,
        remaining=main.posted_credits - main.posted_debits - main.pending_debits,
    )


def program_budget_figures(program: Program) -> list[BudgetFigures]:
    return [budget_figures(budget) for budget in program.budgets.order_by("year")]
