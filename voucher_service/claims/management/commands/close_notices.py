from __future__ import annotations

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from voucher_service.claims.notice import notices_close


class Command(BaseCommand):
    help = "Move claims whose public notice ended with no open objection to payable (also a daily beat job)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--today", type=date.fromisoformat, default=None, help="YYYY-MM-DD (default: today)")
        parser.add_argument("--claim", type=int, default=None, help="only this claim (a demo skipping the wait)")

    def handle(self, *args: Any, **options: Any) -> None:
        count = notices_close(today=options["today"], claim_ids=[options["claim"]] if options["claim"] else None)
        self.stdout.write(f"{count} claim(s) became payable.")
