"""``manage.py verify_ledger``: print the verification report; exit non-zero when anything is wrong.

An auditor keeps the chain head outside the database and checks it is still there later::

    manage.py verify_ledger --export-head /media/usb/ledger-head.txt   # after a clean run: "<height>:<hash>"
    manage.py verify_ledger --pin-file /media/usb/ledger-head.txt      # later: that head must be unchanged
    manage.py verify_ledger --pin 1234:9f86d08…                        # the same, from the command line

A pinned head that is missing (links removed) or has another hash (history rewritten) fails the run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ledger.verification import Pin, verify_ledger


class Command(BaseCommand):
    help = "Recompute balances, versions, the hash chain and its seals; fail loudly on any mismatch."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--pin", action="append", default=[], metavar="HEIGHT:HASH", help="a chain head that must be unchanged"
        )
        parser.add_argument(
            "--pin-file", action="append", default=[], metavar="FILE", help="a file of pins, one HEIGHT:HASH a line"
        )
        parser.add_argument(
            "--export-head", metavar="FILE", help="after a clean run, write the chain head (HEIGHT:HASH) to FILE"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        pins = self._pins(options["pin"], options["pin_file"])
        report = verify_ledger(pins=pins)
        self.stdout.write(report.render())
        if not report.ok:
            failed = [name for name, count in report.problem_counts.items() if count]
            raise CommandError(f"Ledger verification failed: {', '.join(failed)}")
        if options["export_head"]:
            Path(options["export_head"]).write_text(f"{report.pin}\n")
            self.stdout.write(f"Chain head {report.pin} written to {options['export_head']}")

    def _pins(self, texts: list[str], files: list[str]) -> list[Pin]:
        lines = list(texts)
        for name in files:
            try:
                content = Path(name).read_text()
            except OSError as exc:
                raise CommandError(f"Cannot read the pin file {name}: {exc}") from exc
            lines.extend(line for line in content.splitlines() if line.strip() and not line.startswith("#"))
        try:
            return [Pin.parse(line) for line in lines]
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
