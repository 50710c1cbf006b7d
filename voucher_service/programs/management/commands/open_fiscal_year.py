"""``manage.py open_fiscal_year YEAR``: open YEAR's budgets for every published program (idempotent)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from accounts.audit import SYSTEM
from ledger.money import fen_to_yuan
from voucher_service.programs.budgets import budgets_open_year


class Command(BaseCommand):
    help = "Create the fiscal year's budget accounts in the ledger, funded with each program's annual cap."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("year", type=int)

    def handle(self, *args: Any, **options: Any) -> None:
        for budget in budgets_open_year(actor=SYSTEM, year=options["year"]):
            self.stdout.write(f"{budget.program.code} {budget.year}: cap {fen_to_yuan(budget.cap)} yuan")
