"""What must hold after a stress run, each check returning the problems it found (none: it holds).

* ``unexpected_errors``: every operation succeeded, found nothing to do, or was refused with a ``ServiceError``
  (an API answer in the one error shape); anything else would be a 500.
* ``caps_exceeded``: no cap of any program was ever exceeded, read from the journal by the auditors'
  cap-compliance proof (``voucher_service.reports.compliance``).
* ``ledger_problems``: ``verify_ledger`` (sealing whatever is left first) finds nothing.
* ``identities_broken``: every budget statement's identities hold (``voucher_service.reports.statements``).
* ``refusals_that_wrote``: a refused step wrote nothing: no audit event and no journal entry whose actor is the
  step's actor, from the step's start to its end (each crew member acts in one thread only, one step at a time),
  and no row carrying the operation's token (objections are anonymous; applications, uploads and payouts name it).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.utils import timezone

from accounts.models import AuditEvent
from ledger.models import JournalEntry
from ledger.verification import verify_ledger
from tests.stress.operations import Op
from tests.stress.world import World
from voucher_service.claims.models import Claim, Objection, Payout
from voucher_service.programs.models import FiscalYearBudget
from voucher_service.reports.compliance import cap_compliance
from voucher_service.reports.statements import budget_statement
from voucher_service.vouchers.models import BulkIssuance, VoucherApplication


def unexpected_errors(ops: list[Op]) -> list[str]:
    return [f"#{op.index} {op.kind}: {op.outcome} {op.error}" for op in ops if op.outcome.startswith("error")]


def caps_exceeded(world: World) -> list[str]:
    now = timezone.now()
    problems = []
    for program in world.programs:
        proof = cap_compliance(program, now)
        assert proof.uses, f"the cap-compliance proof of {program.code} observed no cap"
        problems += [
            f"{program.code}: {use.kind} {use.subject} reached {use.highest} over {use.cap} at {use.reached_at}"
            for use in proof.exceeded
        ]
    return problems


def ledger_problems() -> list[str]:
    report = verify_ledger()
    return [] if report.ok else [report.render()]


def identities_broken(world: World) -> list[str]:
    now = timezone.now()
    problems = []
    for budget in FiscalYearBudget.objects.filter(program__in=world.programs).select_related("program"):
        statement = budget_statement(budget, now)
        problems += [
            f"{budget.program.code} {budget.year}: {identity.key} {identity.left} != {identity.right}"
            for identity in statement.identities
            if not identity.holds
        ]
    return problems


def _writes_by_actor(actors: set[int]) -> dict[int, list[tuple[Any, str]]]:
    """Every audit event and journal entry of these actors: (when, what), by actor (two queries in all)."""
    writes: dict[int, list[tuple[Any, str]]] = defaultdict(list)
    events = AuditEvent.objects.filter(actor_id__in=actors).values_list("actor_id", "occurred_at", "action", "pk")
    for actor, at, action, pk in events.iterator(5000):
        writes[actor].append((at, f"audit event {action} #{pk}"))
    entries = JournalEntry.objects.filter(actor_id__in=actors).values_list("actor_id", "recorded_at", "idempotency_key")
    for actor, at, key in entries.iterator(5000):
        writes[actor].append((at, f"journal entry {key}"))
    return writes


def _tokens_written() -> dict[str, set[str]]:
    """What carries an operation's token, by kind of row (one query each)."""
    return {
        "application": {p.rsplit(" ", 1)[-1] for p in VoucherApplication.objects.values_list("purpose", flat=True)},
        "bulk upload": {n.removesuffix(".csv") for n in BulkIssuance.objects.values_list("file_name", flat=True)},
        "objection": {r.rsplit(" ", 1)[-1] for r in Objection.objects.values_list("reason", flat=True)},
        "payout": {b.removeprefix("CZ-") for b in Payout.objects.values_list("bank_reference", flat=True)},
        "claim": {n.removeprefix("HT-") for n in Claim.objects.values_list("contract_number", flat=True)},
    }


def refusals_that_wrote(ops: list[Op]) -> list[str]:
    refused = [op for op in ops if op.refused and op.step_started is not None and op.ended is not None]
    writes = _writes_by_actor({actor for op in refused for actor in op.actors})
    tokens = _tokens_written()
    problems = []
    for op in refused:
        start, end = op.step_started, op.ended
        assert start is not None
        assert end is not None
        leaks = [what for actor in op.actors for at, what in writes.get(actor, []) if start <= at <= end]
        if op.steps == 1:  # refused at its first step: none of the operation's own rows exist
            leaks += [f"a {name} row with its token" for name, written in tokens.items() if op.token in written]
        if leaks:
            problems.append(f"#{op.index} {op.kind} {op.outcome}: {', '.join(leaks[:5])}")
    return problems


def all_problems(world: World, ops: list[Op]) -> dict[str, list[str]]:
    return {
        "unexpected errors": unexpected_errors(ops),
        "caps exceeded": caps_exceeded(world),
        "ledger verification": ledger_problems(),
        "budget identities": identities_broken(world),
        "refusals that wrote": refusals_that_wrote(ops),
    }
