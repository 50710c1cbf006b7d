"""``manage.py open_fiscal_year YEAR``: open YEAR's budgets for every published program (idempotent), and say of
every other program why it has none (a draft, outside its window, expired)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.audit import SYSTEM
from ledger.money import fen_to_yuan
from voucher_service.programs.budgets import FIRST_YEAR, LAST_YEAR, budgets_open_year


class Command(BaseCommand):
    help = "Create the fiscal year's budget accounts in the ledger, funded with each program's annual cap."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("year", type=int, help=f"The fiscal (calendar) year, {FIRST_YEAR} to {LAST_YEAR}.")

    def handle(self, *args: Any, **options: Any) -> None:
        year = options["year"]
        if not FIRST_YEAR <= year <= LAST_YEAR:
            raise CommandError(f"The fiscal year must be from {FIRST_YEAR} to {LAST_YEAR}; got {year}.")
        result = budgets_open_year(actor=SYSTEM, year=year)
        for budget in result.opened:
            self.stdout.write(f"{budget.program.code} {budget.year}: cap {fen_to_yuan(budget.cap)} yuan")
        for code, reason in result.skipped.items():
            self.stdout.write(f"not opened: {code} {year}: {reason}")
        for code, reason in result.failed.items():
            self.stderr.write(f"error: {code} {year} was not opened: {reason}")
        if result.failed:
            raise CommandError(f"{len(result.failed)} program(s) could not be opened for {year}; the others were.")
