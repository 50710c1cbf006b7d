"""``manage.py load_policies [--file PATH]``: load the seed programs from the policy fixture (idempotent)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.audit import SYSTEM
from voucher_service.programs.loader import DEFAULT_FIXTURE, NOT_CHANGES, policies_load, read_fixture


class Command(BaseCommand):
    help = "Load the voucher programs (policies) from a YAML fixture. Running it twice changes nothing."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--file", type=Path, default=DEFAULT_FIXTURE, help="Fixture path (default: the seeds).")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            report = policies_load(actor=SYSTEM, document=read_fixture(options["file"]))
        except ValidationError as exc:
            raise CommandError(f"The policy fixture is not valid: {exc.message_dict}") from exc
        for warning in report.warnings:
            self.stderr.write(f"warning: {warning}")
        for code, reason in report.failed.items():
            self.stderr.write(f"error: program {code} was not loaded (nothing of it was written): {reason}")
        if not report.changed_anything:
            self.stdout.write("Policies already up to date." if not report.failed else "Nothing else to change.")
        for label, items in vars(report).items():
            if items and label not in NOT_CHANGES:
                self.stdout.write(f"{label.replace('_', ' ')}: {', '.join(items)}")
        if report.failed:
            raise CommandError(f"{len(report.failed)} program(s) failed to load: {', '.join(report.failed)}.")
