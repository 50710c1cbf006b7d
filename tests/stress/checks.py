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


def _token_rows(token: str) -> list[str]:
    found = {
        "application": VoucherApplication.objects.filter(purpose__endswith=token).exists(),
        "bulk upload": BulkIssuance.objects.filter(file_name=f"{token}.csv").exists(),
        "objection": Objection.objects.filter(reason__endswith=token).exists(),
        "payout": Payout.objects.filter(bank_reference=f"CZ-{token}").exists(),
        "claim": Claim.objects.filter(contract_number=f"HT-{token}").exists(),
    }
    return [name for name, exists in found.items() if exists]


def _wrote(op: Op) -> list[str]:
    window = (op.step_started, op.ended)
    leaks = []
    if op.actors:
        events = AuditEvent.objects.filter(actor_id__in=op.actors, occurred_at__range=window)
        entries = JournalEntry.objects.filter(actor_id__in=op.actors, recorded_at__range=window)
        leaks += [f"audit event {e.action} #{e.pk}" for e in events[:3]]
        leaks += [f"journal entry {e.idempotency_key}" for e in entries[:3]]
    return leaks


def refusals_that_wrote(ops: list[Op]) -> list[str]:
    problems = []
    for op in ops:
        if not op.refused or op.step_started is None:
            continue
        leaks = _wrote(op)
        if op.steps == 1:  # refused at its first step: none of the operation's own rows exist
            leaks += [f"a {name} row with its token" for name in _token_rows(op.token)]
        if leaks:
            problems.append(f"#{op.index} {op.kind} {op.outcome}: {', '.join(leaks)}")
    return problems


def all_problems(world: World, ops: list[Op]) -> dict[str, list[str]]:
    return {
        "unexpected errors": unexpected_errors(ops),
        "caps exceeded": caps_exceeded(world),
        "ledger verification": ledger_problems(),
        "budget identities": identities_broken(world),
        "refusals that wrote": refusals_that_wrote(ops),
    }
