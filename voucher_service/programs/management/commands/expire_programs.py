"""``manage.py expire_programs``: mark expired the programs whose end date has passed (idempotent)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from accounts.audit import SYSTEM
from voucher_service.programs.models import Program
from voucher_service.programs.services import programs_expire_due


class Command(BaseCommand):
    help = "Mark expired every published or suspended program whose end date has passed."

    def handle(self, *args: Any, **options: Any) -> None:
        expired = programs_expire_due(actor=SYSTEM)
        for program in Program.objects.filter(pk__in=expired).order_by("pk"):
            self.stdout.write(f"expired: {program.code} (its window ended on {program.valid_until})")
        self.stdout.write(f"Expired {len(expired)} program(s).")
