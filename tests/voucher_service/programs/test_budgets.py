"""Fiscal-year budgets: opening them in the ledger, the cap as a ledger limit, figures that reconcile."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from io import StringIO
from unittest import mock

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from accounts.audit import SYSTEM
from accounts.models import AuditEvent, Jurisdiction
from ledger.errors import LedgerErrorCode
from ledger.models import Account, JournalEntry
from ledger.selectors import balance
from ledger.services import account_create, entry_post, hold_create
from tests.refusals import refused
from voucher_service.programs import services
from voucher_service.programs.budgets import (
    account_code,
    budget_account_require_open,
    budget_open,
    budget_require_open,
    budgets_open_year,
)
from voucher_service.programs.errors import ProgramError, ProgramErrorCode
from voucher_service.programs.models import FiscalYearBudget
from voucher_service.programs.selectors import budget_accounts, budget_figures

pytestmark = pytest.mark.django_db

YUAN = 100


@contextmanager
def freeze_published_at(moment):
    """Act as if it were ``moment`` (so versions are published then): django.utils.timezone.now is patched."""
    with mock.patch("django.utils.timezone.now", return_value=moment):
        yield


def ledger_counts() -> dict[str, int]:
    return {
        "accounts": Account.objects.count(),
        "entries": JournalEntry.objects.count(),
        "budgets": FiscalYearBudget.objects.count(),
        "audit": AuditEvent.objects.count(),
    }


def open_year(year: int) -> str:
    out = StringIO()
    call_command("open_fiscal_year", str(year), stdout=out)
    return out.getvalue()


def test_opening_2025_funds_each_published_program_with_its_cap(seeds):
    # when fiscal year 2025 is opened
    open_year(2025)
    # then Ningxia, Baoding and Hohhot (published, in force in 2025) have a budget; Yinchuan's draft has none
    caps = dict(FiscalYearBudget.objects.filter(year=2025).values_list("program__code", "cap"))
    assert caps == {
        seeds.ningxia.code: 40_000_000 * YUAN,
        seeds.baoding.code: 10_000_000 * YUAN,
        seeds.hohhot.code: 50_000_000 * YUAN,
    }
    # and each budget account holds exactly the cap, funded from the year's appropriation
    accounts = budget_accounts(seeds.baoding, 2025)
    assert balance(accounts.budget_account) == 10_000_000 * YUAN
    assert balance(accounts.appropriation) == -10_000_000 * YUAN
    assert accounts.budget_account.debits_must_not_exceed_credits
    assert accounts.budget_account.code == account_code(seeds.baoding.pk, 2025, "budget")


def test_opening_is_idempotent(seeds):
    # given 2025 opened once
    open_year(2025)
    before = ledger_counts()
    # when it is opened again, by the command and by the task's service
    open_year(2025)
    budgets_open_year(actor=SYSTEM, year=2025)
    # then nothing new is written: no account, no entry, no budget, no audit event
    assert ledger_counts() == before


def test_funding_sources_follow_the_split_rules(seeds):
    # when 2025 is opened
    budgets_open_year(actor=SYSTEM, year=2025)
    # then Baoding has a funding account per payer its split names (city, district, county); Ningxia the default
    assert set(budget_accounts(seeds.baoding, 2025).funding) == {"city", "district", "county"}
    assert set(budget_accounts(seeds.ningxia, 2025).funding) == {"program"}


def test_the_ledger_refuses_issuance_over_the_cap(seeds):
    # given Baoding's 2025 budget of 10,000,000 元 and a voucher account
    accounts = budget_accounts(budget_open(actor=SYSTEM, program=seeds.baoding, year=2025).program, 2025)
    voucher = account_create(code="test:voucher:1", name="voucher")
    # when the whole cap is issued
    entry_post(
        actor=SYSTEM,
        idempotency_key="t:issue:1",
        lines=[(accounts.budget_account, "debit", 10_000_000 * YUAN), (voucher, "credit", 10_000_000 * YUAN)],
    )
    # then one more fen, posted or held, is refused by the ledger itself
    with refused(LedgerErrorCode.LIMIT_EXCEEDED):
        entry_post(
            actor=SYSTEM,
            idempotency_key="t:issue:2",
            lines=[(accounts.budget_account, "debit", 1), (voucher, "credit", 1)],
        )
    with refused(LedgerErrorCode.LIMIT_EXCEEDED):
        hold_create(
            actor=SYSTEM,
            idempotency_key="t:hold:1",
            debit_account=accounts.budget_account,
            credit_account=voucher,
            amount=1,
            expires_at=timezone.now() + timedelta(hours=1),
        )


def test_budget_figures_reconcile_with_the_ledger(seeds):
    # given Baoding's 2025 budget and a voucher of 3,000,000 元 issued from it, 1,000,000 元 held
    budget_open(actor=SYSTEM, program=seeds.baoding, year=2025)
    accounts = budget_accounts(seeds.baoding, 2025)
    rules = budget_accounts(seeds.baoding, 2025).budget.version.parsed()
    voucher = account_create(code="test:voucher:2", name="voucher")

    def move(key, debit, credit, amount):
        entry_post(actor=SYSTEM, idempotency_key=key, lines=[(debit, "debit", amount), (credit, "credit", amount)])

    move("t:issue", accounts.budget_account, voucher, 3_000_000 * YUAN)
    hold_create(
        actor=SYSTEM,
        idempotency_key="t:hold",
        debit_account=accounts.budget_account,
        credit_account=voucher,
        amount=1_000_000 * YUAN,
        expires_at=timezone.now() + timedelta(hours=1),
    )
    # and a 1,000,001 元 redemption in a city-managed district, split 50/50 between city and district
    district = Jurisdiction.objects.get(code="130602")
    split = rules.split_amount(100_000_100, district.admin_type)
    entry_post(
        actor=SYSTEM,
        idempotency_key="t:redeem",
        lines=[(voucher, "debit", 100_000_100)] + [(accounts.funding[p], "credit", fen) for p, fen in split],
    )
    # and 200,000 元 returned to the budget, 100,000 元 lapsed
    move("t:return", voucher, accounts.budget_account, 200_000 * YUAN)
    move("t:lapse", voucher, accounts.lapsed, 100_000 * YUAN)
    # when the figures are read
    figures = budget_figures(accounts.budget)
    # then they are exactly what the ledger holds
    assert figures.cap == 10_000_000 * YUAN
    assert figures.issued == 3_000_000 * YUAN
    assert figures.held == 1_000_000 * YUAN
    assert figures.spent == 100_000_100
    assert figures.returned == 200_000 * YUAN
    assert figures.lapsed == 100_000 * YUAN
    assert figures.remaining == figures.cap - figures.issued - figures.held + figures.returned
    assert figures.remaining == balance(accounts.budget_account) - figures.held
    assert balance(accounts.funding["city"]) == 50_000_050
    assert balance(accounts.funding["district"]) == 50_000_050
    # and issuance's own read of the year finds the same budget account
    assert budget_account_require_open(seeds.baoding, 2025) == accounts.budget_account.pk


def test_a_year_that_is_not_open_or_a_draft_is_refused(seeds):
    assert budget_accounts(seeds.baoding, 2025) is None
    with pytest.raises(ProgramError) as not_open:
        budget_require_open(seeds.baoding, 2025)
    assert not_open.value.code == ProgramErrorCode.BUDGET_NOT_OPEN
    with pytest.raises(ProgramError) as not_open_for_issuance:
        budget_account_require_open(seeds.baoding, 2025)
    assert not_open_for_issuance.value.code == ProgramErrorCode.BUDGET_NOT_OPEN
    with pytest.raises(ProgramError):
        budget_open(actor=SYSTEM, program=seeds.yinchuan, year=2025)
    # Baoding ends 2027-01-24: 2028 is outside its window
    with pytest.raises(ProgramError):
        budget_open(actor=SYSTEM, program=seeds.baoding, year=2028)
    assert not FiscalYearBudget.objects.exists()


def test_a_published_cap_change_moves_this_years_budget(seeds):
    # given Hohhot's budget for this year (50,000,000 元) with 30,000,000 元 issued
    year = timezone.localdate().year
    budget_open(actor=SYSTEM, program=seeds.hohhot, year=year)
    accounts = budget_accounts(seeds.hohhot, year)
    voucher = account_create(code="test:voucher:cap", name="voucher")
    entry_post(
        actor=SYSTEM,
        idempotency_key="t:cap:issue",
        lines=[(accounts.budget_account, "debit", 30_000_000 * YUAN), (voucher, "credit", 30_000_000 * YUAN)],
    )
    # when a new version raises the cap to 60,000,000 元, then another cuts it to 40,000,000 元
    services.program_update(actor=SYSTEM, program=seeds.hohhot, rules={"annual_cap": "60000000.00"})
    raised = budget_figures(FiscalYearBudget.objects.get(program=seeds.hohhot, year=year))
    services.program_update(actor=SYSTEM, program=seeds.hohhot, rules={"annual_cap": "40000000.00"})
    cut = budget_figures(FiscalYearBudget.objects.get(program=seeds.hohhot, year=year))
    # then the ledger follows, and issued stays what was issued
    assert (raised.cap, raised.issued, raised.remaining) == (60_000_000 * YUAN, 30_000_000 * YUAN, 30_000_000 * YUAN)
    assert (cut.cap, cut.issued, cut.remaining, cut.returned) == (
        40_000_000 * YUAN,
        30_000_000 * YUAN,
        10_000_000 * YUAN,
        0,
    )
    assert FiscalYearBudget.objects.get(program=seeds.hohhot, year=year).version.number == 3


def test_a_cap_cut_below_what_is_issued_is_refused_and_changes_nothing(seeds):
    # given Hohhot's budget for this year with 30,000,000 元 issued
    year = timezone.localdate().year
    budget_open(actor=SYSTEM, program=seeds.hohhot, year=year)
    accounts = budget_accounts(seeds.hohhot, year)
    voucher = account_create(code="test:voucher:cut", name="voucher")
    entry_post(
        actor=SYSTEM,
        idempotency_key="t:cut:issue",
        lines=[(accounts.budget_account, "debit", 30_000_000 * YUAN), (voucher, "credit", 30_000_000 * YUAN)],
    )
    before = ledger_counts() | {"versions": seeds.hohhot.versions.count()}
    # when a version would cut the cap to 20,000,000 元
    with pytest.raises(ProgramError) as refused:
        services.program_update(actor=SYSTEM, program=seeds.hohhot, rules={"annual_cap": "20000000.00"})
    # then it was refused in the program's terms before the ledger saw it, and nothing was written
    assert refused.value.code == ProgramErrorCode.CAP_BELOW_COMMITTED
    assert refused.value.details == {"year": year, "cap": "50000000.00", "committed": "30000000.00"}
    assert ledger_counts() | {"versions": seeds.hohhot.versions.count()} == before
    assert budget_figures(accounts.budget).cap == 50_000_000 * YUAN


def test_a_payer_added_by_a_later_version_gets_its_account_in_the_open_years(seeds, foreign_admin):
    # given Baoding's budgets for this year and next open (city, district and county accounts)
    year = timezone.localdate().year
    budget_open(actor=SYSTEM, program=seeds.baoding, year=year)
    services.program_extend(actor=foreign_admin, program=seeds.baoding, new_end=None, reason="长期有效")
    budget_open(actor=SYSTEM, program=seeds.baoding, year=year + 1)
    assert set(budget_accounts(seeds.baoding, year).funding) == {"city", "district", "county"}
    # when a new version makes the province pay a share of "other" projects
    split = {
        "city_district": [{"payer": "city", "share": "0.5"}, {"payer": "district", "share": "0.5"}],
        "province_county": [{"payer": "county", "share": "1"}],
        "other": [{"payer": "province", "share": "0.2"}, {"payer": "city", "share": "0.8"}],
    }
    services.program_update(actor=foreign_admin, program=seeds.baoding, rules={"funding_split": split})
    # then every open year it governs has a province funding account, under the budget's account code scheme
    for each in (year, year + 1):
        accounts = budget_accounts(seeds.baoding, each)
        assert set(accounts.funding) == {"province", "city", "district", "county"}
        assert accounts.funding["province"].code == account_code(seeds.baoding.pk, each, "funding:province")
    assert AuditEvent.objects.filter(action="budget.funding_sources").count() == 2
    # and publishing yet another version naming the same payers adds nothing (idempotent)
    before = ledger_counts()
    services.program_update(actor=foreign_admin, program=seeds.baoding, rules={"per_entity_annual_cap": "900000.00"})
    assert {k: v for k, v in ledger_counts().items() if k != "audit"} == {
        k: v for k, v in before.items() if k != "audit"
    }
    assert AuditEvent.objects.filter(action="budget.funding_sources").count() == 2


def test_a_past_year_is_opened_under_the_version_in_force_that_year(seeds):
    # given Hohhot's v1 (50,000,000 元), then a v2 published today raising the cap to 60,000,000 元
    year = timezone.localdate().year
    services.program_update(actor=SYSTEM, program=seeds.hohhot, rules={"annual_cap": "60000000.00"})
    # when last year (before v2) and this year are opened
    past = budget_open(actor=SYSTEM, program=seeds.hohhot, year=year - 1)
    current = budget_open(actor=SYSTEM, program=seeds.hohhot, year=year)
    # then last year has v1's cap, in the budget row and in the ledger, and this year has v2's
    assert (past.version.number, past.cap, budget_figures(past).cap) == (1, 50_000_000 * YUAN, 50_000_000 * YUAN)
    assert (current.version.number, current.cap, budget_figures(current).cap) == (
        2,
        60_000_000 * YUAN,
        60_000_000 * YUAN,
    )


def test_a_year_is_opened_under_the_version_in_force_at_the_programs_end(seeds, foreign_admin):
    # given Baoding ending 2027-01-24, and a version published on 2027-01-10 that cuts its cap; opening 2027
    # uses the version in force on its last day (2027-01-24), not on 31 December
    with freeze_published_at(datetime(2027, 1, 10, 4, tzinfo=UTC)):
        services.program_update(actor=foreign_admin, program=seeds.baoding, rules={"annual_cap": "8000000.00"})
    with freeze_published_at(datetime(2027, 3, 1, 4, tzinfo=UTC)):
        services.program_update(actor=foreign_admin, program=seeds.baoding, rules={"annual_cap": "7000000.00"})
    budget = budget_open(actor=SYSTEM, program=seeds.baoding, year=2027)
    assert (budget.version.number, budget.cap) == (2, 8_000_000 * YUAN)


def test_a_year_with_no_published_version_in_force_is_refused_clearly(seeds):
    # given a program row marked published that has no published version (Yinchuan's draft, forced)
    from voucher_service.programs.budgets import _openable_rules

    year = timezone.localdate().year
    seeds.yinchuan.status, seeds.yinchuan.valid_from = "published", timezone.localdate()
    # when its year is opened
    with pytest.raises(ProgramError) as caught:
        _openable_rules(seeds.yinchuan, year)
    # then it is refused with a typed error that names the year, and nothing is created
    assert caught.value.code == ProgramErrorCode.INVALID_TRANSITION
    assert str(year) in str(caught.value)
    assert not FiscalYearBudget.objects.exists()


@pytest.mark.parametrize("year", ["1999", "2201", "20250"])
def test_open_fiscal_year_refuses_years_outside_2000_to_2200(seeds, year):
    before = ledger_counts()
    with pytest.raises(CommandError, match="2000 to 2200"):
        open_year(int(year))
    assert ledger_counts() == before


def test_the_open_fiscal_year_command_opens_the_others_and_fails_when_one_program_cannot_open(seeds, monkeypatch):
    # given Hohhot's opening fails
    from voucher_service.programs import budgets

    real_open = budgets.budget_open

    def failing_for_hohhot(*, actor, program, year):
        if program.pk == seeds.hohhot.pk:
            raise ProgramError(ProgramErrorCode.INVALID_TRANSITION, "no cap")
        return real_open(actor=actor, program=program, year=year)

    monkeypatch.setattr(budgets, "budget_open", failing_for_hohhot)
    err = StringIO()
    # when the command opens 2025
    with pytest.raises(CommandError):
        call_command("open_fiscal_year", "2025", stdout=StringIO(), stderr=err)
    # then the other two are open, and the failure is named on stderr
    assert FiscalYearBudget.objects.filter(year=2025).count() == 2
    assert f"{seeds.hohhot.code} 2025 was not opened: no cap" in err.getvalue()
