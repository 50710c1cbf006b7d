"""A program-year's budget over time, for the program administrator's burn-down chart: the budget statement's own
figures (``statements.budget_statement``, read from the ledger as of each moment), at evenly spaced moments from
the year's opening to now (or to the year's end, once it is over)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

from django.utils import timezone

from ledger.models import JournalEntry
from voucher_service.programs.budgets import opening_idempotency_key
from voucher_service.programs.models import FiscalYearBudget
from voucher_service.reports.statements import BudgetStatement, budget_statement

SERIES = ("issued", "held", "paid", "remaining")
FIGURES = ("cap", "issued", "held", "paid", "returned", "lapsed", "remaining")


@dataclass(frozen=True)
class BudgetPoint:
    """The statement's figures (fen) as of ``at``."""

    at: datetime
    figures: dict[str, int]


def statement_point(statement: BudgetStatement) -> BudgetPoint:
    return BudgetPoint(statement.as_of, {key: statement.figures[key].amount for key in FIGURES})


def opened_at(budget: FiscalYearBudget) -> datetime:
    """When the year's cap reached its budget account: the opening entry's recorded time."""
    key = opening_idempotency_key(budget.program_id, budget.year)
    recorded = JournalEntry.objects.filter(idempotency_key=key).values_list("recorded_at", flat=True).first()
    return recorded or budget.opened_at


def burndown_moments(budget: FiscalYearBudget, now: datetime, count: int = 12) -> list[datetime]:
    """``count`` moments from the year's opening to ``now`` (or the year's last moment if earlier), ends included."""
    year_end = timezone.make_aware(datetime.combine(date(budget.year, 12, 31), time.max))
    start, end = opened_at(budget), min(now, year_end)
    if end <= start or count < 2:
        return [max(start, end)]
    step = (end - start) / (count - 1)
    return [start + step * index for index in range(count - 1)] + [end]


def budget_burndown(budget: FiscalYearBudget, moments: list[datetime]) -> list[BudgetPoint]:
    """The budget statement's figures as of each of ``moments`` (in order)."""
    return [statement_point(budget_statement(budget, moment)) for moment in sorted(moments)]
