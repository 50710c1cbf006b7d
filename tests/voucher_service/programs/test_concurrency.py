"""Program writes under real concurrency (PostgreSQL, real threads): one budget per year, gapless versions."""

from __future__ import annotations

import pytest

from accounts.audit import SYSTEM
from accounts.models import AuditEvent
from ledger.models import JournalEntry
from tests.race_condition import race
from voucher_service.programs import services
from voucher_service.programs.budgets import budget_open
from voucher_service.programs.models import FiscalYearBudget
from voucher_service.programs.selectors import budget_figures

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_racing_openings_of_a_year_open_it_once(seeds):
    # given eight workers opening Baoding's 2025 at the same instant (beat, a retry, the on-commit task…)
    outcomes = race([lambda: budget_open(actor=SYSTEM, program=seeds.baoding, year=2025) for _ in range(8)])
    # then all succeed with the same budget, funded once
    assert all(o.ok for o in outcomes), [o.error for o in outcomes if not o.ok]
    assert len({o.value.pk for o in outcomes}) == 1
    budget = FiscalYearBudget.objects.get(program=seeds.baoding, year=2025)
    assert budget_figures(budget).cap == 10_000_000 * 100
    assert JournalEntry.objects.filter(idempotency_key__endswith=":2025:open").count() == 1
    assert AuditEvent.objects.filter(action="budget.open").count() == 1


def test_racing_rules_changes_get_gapless_version_numbers(seeds, foreign_admin):
    # given six administrators' edits of Baoding's cap arriving together
    caps = [f"{10_000_000 + n}.00" for n in range(1, 7)]
    outcomes = race(
        [
            lambda cap=cap: services.program_update(
                actor=foreign_admin, program=seeds.baoding, rules={"annual_cap": cap}
            )
            for cap in caps
        ]
    )
    # then each became its own version, numbered 2..7 without gaps or duplicates
    assert all(o.ok for o in outcomes), [o.error for o in outcomes if not o.ok]
    numbers = sorted(seeds.baoding.versions.values_list("number", flat=True))
    assert numbers == list(range(1, 8))
