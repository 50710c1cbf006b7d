"""``manage.py verify_ledger``: print the verification report; exit non-zero when anything is wrong."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from ledger.verification import verify_ledger


class Command(BaseCommand):
    help = "Recompute balances, versions and the hash chain of the ledger; fail loudly on any mismatch."

    def handle(self, *args: Any, **options: Any) -> None:
        report = verify_ledger()
        self.stdout.write(report.render())
        if not report.ok:
            failed = [name for name, count in report.problem_counts.items() if count]
            raise CommandError(f"Ledger verification failed: {', '.join(failed)}")
