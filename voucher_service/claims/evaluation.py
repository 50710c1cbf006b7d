"""Submitting a claim and evaluating it (the Celery task ``claims.evaluate_claim`` runs ``claim_evaluate``).

Submission answers at once (202) and queues the evaluation on commit. The evaluation, under the claim's lock:

1. reads the rules in force when the claim was submitted (``program_version_in_force``) and its vouchers;
2. runs every check (``checks``); a failure refuses the claim with readable reasons and writes no ledger row;
3. locks the totals and ledger accounts (``reserve.lock_for``) and computes the subsidy from what they hold
   (``subsidy.compute``): the breakdown of every term, which bound, and the rules version;
4. marks the contract and invoices as counting (the database's unique keys refuse a second claim on either,
   whatever the interleaving), holds the subsidy on the vouchers and counts it in the totals (``reserve``);
5. moves the claim to the first review stage.

A second delivery of the task finds the claim decided and does nothing.
"""

from __future__ import annotations

import functools
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.audit import SYSTEM, audit_record
from core.transactions import enqueue_on_commit, service_write
from ledger.errors import LedgerError
from voucher_service.claims import checks as c
from voucher_service.claims.drafts import _require_not_barred
from voucher_service.claims.errors import ClaimError, ClaimErrorCode
from voucher_service.claims.models import EDITABLE_STATUSES, Claim, ClaimEvaluation, ClaimStatus
from voucher_service.claims.permissions import require_applicant
from voucher_service.claims.reserve import AlreadySubsidised, lock_for, reserve
from voucher_service.claims.subsidy import Breakdown, compute
from voucher_service.programs.selectors import program_version_in_force
from voucher_service.vouchers.models import Voucher

# Each service below is a thin ``service_write`` around a plain function: mutmut does not mutate decorated functions,
# and ``make mutation`` holds this module's rules to its tests (TESTING.md).


@service_write
def claim_submit(*, actor: Any, claim: Claim) -> Claim:
    """Submit a draft (or resubmit a returned claim); the evaluation runs in a task queued on commit."""
    return _submit(actor, claim)


def _submit(actor: Any, claim: Claim) -> Claim:
    from voucher_service.claims.tasks import evaluate_claim

    locked = Claim.objects.select_for_update(of=("self",)).select_related("entity").get(pk=claim.pk)
    require_applicant(actor, locked.entity)
    if locked.status not in EDITABLE_STATUSES:
        raise ClaimError(
            ClaimErrorCode.INVALID_STATE,
            _("Only a draft or a returned claim can be submitted; this one is %(status)s.")
            % {"status": locked.get_status_display()},
        )
    _require_not_barred(locked.entity)
    before = locked.status
    locked.status, locked.round, locked.stage_index = ClaimStatus.SUBMITTED, locked.round + 1, 0
    locked.submitted_by, locked.submitted_at = actor, timezone.now()
    locked.outcome_reason = ""
    locked.save()
    audit_record(
        actor=actor,
        action="claim.submit",
        target=locked,
        organization=locked.entity,
        before={"status": before},
        after={"status": locked.status, "round": locked.round},
    )
    enqueue_on_commit(evaluate_claim, locked.pk)
    return locked


@service_write
def claim_mark_evaluating(*, claim_id: int) -> bool:
    """submitted → evaluating, visible at once while the evaluation runs. False if there is nothing to start."""
    return _mark_evaluating(claim_id)


def _mark_evaluating(claim_id: int) -> bool:
    return bool(Claim.objects.filter(pk=claim_id, status=ClaimStatus.SUBMITTED).update(status=ClaimStatus.EVALUATING))


def _refuse(claim: Claim, evaluation: ClaimEvaluation, failures: list[c.Check]) -> None:
    claim.status = ClaimStatus.REFUSED
    claim.outcome_reason = "; ".join(f.message["en"] for f in failures)[:1000]
    claim.save()
    audit_record(
        actor=SYSTEM,
        action="claim.refuse",
        target=claim,
        organization=claim.entity,
        before={"status": ClaimStatus.EVALUATING},
        after={"status": claim.status, "evaluation": evaluation.pk, "checks": [f.check for f in failures]},
    )


def compute_for(ctx: c.Context, locked: Any, conditions: list[str]) -> Breakdown:
    """The subsidy of the claim from the locked rows (evaluation, and the first stage's condition review)."""
    inside, total = c.days_inside(ctx)
    pro_rating = {"days_inside": inside, "days": total} if ctx.rules.pro_rating != "none" else None
    return compute(
        ctx.rules,
        cost=c.eligible_cost(ctx),
        conditions=conditions,
        used=locked.rule_use(),
        vouchers=[(v.pk, locked.available(v)) for v in ctx.vouchers],
        entity_left=locked.entity_left(),
        budget_left=locked.budget_left(),
        version=ctx.version.number,
        pro_rating=pro_rating,
    )


def context_for(claim: Claim, vouchers: list[Voucher] | None = None) -> c.Context:
    submitted = claim.submitted_at or timezone.now()
    version = program_version_in_force(claim.program, submitted)
    if version is None:  # only behind the services' back: drafts of draft programs are refused
        raise ClaimError(ClaimErrorCode.INVALID_STATE, _("The program has no published rules."))
    return c.Context(
        claim=claim,
        version=version,
        rules=version.parsed(),
        filed_on=timezone.localtime(submitted).date(),
        vouchers=vouchers if vouchers is not None else c.select_vouchers(claim),
    )


def records_conditions(ctx: c.Context) -> list[str]:
    """The claimed conditions that the records decide false are dropped (a reviewer judges the rest)."""
    from voucher_service.programs.rules import condition_met_by_records

    kept = []
    by_code = {rule.condition.code: rule.condition for rule in ctx.rules.rate_rules}
    for code in ctx.claim.conditions:
        condition = by_code.get(code)
        if condition is None:
            continue
        met = condition_met_by_records(
            condition, settled_on=ctx.claim.entity.settled_on, fiscal_year=ctx.vouchers[0].fiscal_year
        )
        if met is not False:
            kept.append(code)
    return kept


@service_write
def claim_evaluate(*, claim_id: int) -> Claim:
    """Evaluate a submitted claim (see the module docstring). Idempotent."""
    return _evaluate(claim_id)


def _evaluate(claim_id: int) -> Claim:
    claim = (
        Claim.objects.select_for_update(of=("self",)).select_related("program", "entity", "provider").get(pk=claim_id)
    )
    if claim.status not in (ClaimStatus.SUBMITTED, ClaimStatus.EVALUATING):
        return claim
    ctx = context_for(claim)
    results = c.run_checks(ctx)
    failures = [r for r in results if not r.ok]
    claim.program_version = ctx.version
    claim.flags = ctx.flags
    evaluation = ClaimEvaluation(claim=claim, round=claim.round, program_version=ctx.version, passed=False)
    if failures:
        evaluation.checks = [r.as_dict() for r in results]
        evaluation.save()
        _refuse(claim, evaluation, failures)
        return claim
    year = ctx.vouchers[0].fiscal_year
    locked = lock_for(claim, ctx.rules, ctx.vouchers, year)
    breakdown = compute_for(ctx, locked, records_conditions(ctx))
    if breakdown.subsidy == 0:
        failures = [
            c.check(
                "subsidy",
                False,
                lambda: _("Nothing to subsidise: the %(term)s term is zero.") % {"term": breakdown.bound_by},
            )
        ]
    else:
        try:
            reserve(claim, breakdown, locked, ctx.vouchers, year, actor=SYSTEM, fresh=True)
        except AlreadySubsidised as exc:
            failures = [exc.refusal]
        except LedgerError as exc:  # the accounts are locked, so the balance cannot have moved: a defect if seen
            failures = [c.check("vouchers", False, functools.partial(str, exc))]
    evaluation.checks = [r.as_dict() for r in results + failures]
    evaluation.breakdown = breakdown.as_dict()
    evaluation.subsidy = breakdown.subsidy if not failures else 0
    evaluation.passed = not failures
    evaluation.save()
    if failures:
        _refuse(claim, evaluation, failures)
        return claim
    claim.status, claim.stage_index = ClaimStatus.IN_REVIEW, 0
    claim.save()
    audit_record(
        actor=SYSTEM,
        action="claim.evaluate",
        target=claim,
        organization=claim.entity,
        before={"status": ClaimStatus.EVALUATING},
        after={
            "status": claim.status,
            "evaluation": evaluation.pk,
            "subsidy": breakdown.subsidy,
            "bound_by": breakdown.bound_by,
            "version": ctx.version.number,
        },
    )
    return claim
