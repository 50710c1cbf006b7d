"""Periodic and on-commit jobs of the programs domain. Thin, idempotent, take ids (or nothing), ack late."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from accounts.audit import SYSTEM
from voucher_service.programs.budgets import budget_open, budgets_open_year
from voucher_service.programs.models import Program
from voucher_service.programs.selectors import current_fiscal_year
from voucher_service.programs.services import programs_expire_due


@shared_task(name="programs.open_fiscal_year", acks_late=True)
def open_fiscal_year(year: int | None = None) -> dict[str, Any]:
    """Open the fiscal year (default: the current one) for every published program; re-running adds nothing.

    A program that cannot be opened is logged (``budgets`` logger) and listed under ``failed``; the others open.
    """
    result = budgets_open_year(actor=SYSTEM, year=year or current_fiscal_year())
    opened = [budget.pk for budget in result.opened]
    return {"year": result.year, "opened": opened, "failed": result.failed, "skipped": result.skipped}


@shared_task(name="programs.open_program_year", acks_late=True)
def open_program_year(program_id: int, year: int) -> int | None:
    """Open one program's year. Publishing and extending now open it in their own transaction; this task stays
    so that a message queued by an earlier release still runs (idempotent)."""
    program = Program.objects.filter(pk=program_id).first()
    if program is None:
        return None
    return budget_open(actor=SYSTEM, program=program, year=year).pk


@shared_task(name="programs.expire_programs", acks_late=True)
def expire_programs() -> list[int]:
    """Mark expired the programs whose end date has passed; a second run finds nothing to do."""
    return programs_expire_due(actor=SYSTEM)
