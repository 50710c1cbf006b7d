"""The stress run's operations: each one money-moving step of the service, called through its real service
function as its actor (a crew member of the thread) would, on a target picked at random from the database.

An operation returns its outcome (``"issued"``, ``"in_review"``, ``"noop"``, ``"no_target"``…) or raises the
service's refusal (``ServiceError``). One that runs several services (create, attach, submit and evaluate a
claim; approve and issue) marks each with ``op.step()``, so a refusal's window covers the refusing step only.
The worker's half of a step (issuance, evaluation, payout) runs in the same thread right after its request,
as an eager worker would: its writes are the thread's own.
"""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import QuerySet
from django.utils import timezone

from tests.stress.world import AWARD, RULE, Crew, World
from voucher_service.claims.evaluation import claim_evaluate, claim_mark_evaluating
from voucher_service.claims.models import Claim, ClaimStatus, ClawbackReason, Objection, ObjectionStatus
from voucher_service.claims.services import (
    claim_create,
    claim_decide,
    claim_submit,
    claim_withdraw,
    clawback_record,
    evidence_upload,
    objection_file,
    objection_resolve,
    payout_execute,
    payout_request,
)
from voucher_service.vouchers.bulk import bulk_issuance_create, bulk_issuance_run
from voucher_service.vouchers.models import (
    ApplicationStatus,
    BulkMode,
    Issuance,
    Voucher,
    VoucherApplication,
    VoucherStatus,
)
from voucher_service.vouchers.services import (
    application_approve,
    application_reject,
    application_submit,
    award_grant,
    claims_close_on,
    issuance_execute,
    voucher_expire,
    voucher_revoke,
)

PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
YUAN = 100


@dataclass
class Op:
    """One operation of the run: what it was, who ran it, when its (last) step started and ended, what became of
    it, and the actors whose writes during a refused step would be a leak."""

    index: int
    kind: str
    thread: int
    token: str
    outcome: str = ""
    error: str = ""
    step_started: datetime | None = None
    ended: datetime | None = None
    actors: set[int] = field(default_factory=set)
    steps: int = 0

    def step(self, *actors: Any) -> None:
        self.steps += 1
        self.step_started = timezone.now()
        self.actors = {a.pk for a in actors if getattr(a, "pk", None)}

    @property
    def refused(self) -> bool:
        return self.outcome.startswith("refused")


@dataclass
class Context:
    world: World
    crew: Crew
    rng: random.Random
    op: Op

    def program(self) -> Any:
        return self.rng.choice(self.world.programs)

    def entity(self) -> Any:
        return self.rng.choice(self.world.entities)

    def pick(self, queryset: QuerySet) -> Any | None:
        """A random row of ``queryset`` (of the world's programs), or None."""
        ids = list(queryset.values_list("pk", flat=True)[:300])
        return queryset.model.objects.get(pk=self.rng.choice(ids)) if ids else None


def _yuan(amount: int) -> int:
    return amount * YUAN


# --- Vouchers ---------------------------------------------------------------------------------------------


def apply(ctx: Context) -> str:
    ctx.op.step(ctx.crew.applicant)
    application_submit(
        actor=ctx.crew.applicant,
        program=ctx.program(),
        entity=ctx.entity(),
        amount=_yuan(ctx.rng.choice((50, 100, 150, 200, 300))),
        purpose=f"模型训练 {ctx.op.token}",
    )
    return "submitted"


def _issue(ctx: Context, issuance: Issuance) -> str:
    ctx.op.step(ctx.crew.reviewer, ctx.crew.admin)
    return issuance_execute(issuance_id=issuance.pk).status


def approve(ctx: Context) -> str:
    application = ctx.pick(VoucherApplication.objects.filter(status=ApplicationStatus.SUBMITTED))
    if application is None:
        return "no_target"
    ctx.op.step(ctx.crew.reviewer)
    lower = ctx.rng.random() < 0.3
    amount = application.requested_amount // 2 if lower else None
    issuance = application_approve(actor=ctx.crew.reviewer, application=application, amount=amount)
    return _issue(ctx, issuance)


def reject(ctx: Context) -> str:
    application = ctx.pick(VoucherApplication.objects.filter(status=ApplicationStatus.SUBMITTED))
    if application is None:
        return "no_target"
    ctx.op.step(ctx.crew.reviewer)
    application_reject(actor=ctx.crew.reviewer, application=application, reason=f"材料不全 {ctx.op.token}")
    return "rejected"


def award(ctx: Context) -> str:
    ctx.op.step(ctx.crew.reviewer)
    issuance = award_grant(
        actor=ctx.crew.reviewer, program=ctx.program(), entity=ctx.entity(), award_code=AWARD, memo=ctx.op.token
    )
    return _issue(ctx, issuance)


def bulk(ctx: Context) -> str:
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(["uscc", "amount", "memo"])
    for entity in ctx.rng.sample(ctx.world.entities, ctx.rng.randint(2, 5)):
        writer.writerow([entity.uscc, f"{ctx.rng.choice((50, 100, 200))}.00", f"批量 {ctx.op.token}"])
    mode = ctx.rng.choice((BulkMode.ALL_OR_NOTHING, BulkMode.VALID_ROWS_ONLY))
    ctx.op.step(ctx.crew.admin)
    upload = bulk_issuance_create(
        actor=ctx.crew.admin,
        program=ctx.program(),
        content=out.getvalue().encode(),
        file_name=f"{ctx.op.token}.csv",
        mode=mode,
    )
    ctx.op.step(ctx.crew.admin)
    done = bulk_issuance_run(bulk_id=upload.pk)
    return f"{mode}:{done.status}"


def _active_voucher(ctx: Context) -> Voucher | None:
    return ctx.pick(Voucher.objects.filter(status=VoucherStatus.ACTIVE, program__in=ctx.world.programs))


def revoke(ctx: Context) -> str:
    voucher = _active_voucher(ctx)
    if voucher is None:
        return "no_target"
    ctx.op.step(ctx.crew.admin)
    voucher_revoke(actor=ctx.crew.admin, voucher=voucher, reason=f"违规使用 {ctx.op.token}")
    return "revoked"


def expire(ctx: Context) -> str:
    """Expire a voucher as the beat job would on the day after its claims close (time moves on for it alone)."""
    voucher = _active_voucher(ctx)
    if voucher is None:
        return "no_target"
    ctx.op.step(ctx.crew.admin)
    day = claims_close_on(voucher) + timedelta(days=1)
    return "expired" if voucher_expire(actor=ctx.crew.admin, voucher_id=voucher.pk, today=day) else "noop"


# --- Claims -----------------------------------------------------------------------------------------------


def _claim_data(ctx: Context, entity: Any) -> dict[str, Any]:
    today = timezone.localdate()
    amount = _yuan(ctx.rng.choice((100, 200, 300, 500, 800)))
    number = ctx.op.index
    return {
        "entity": entity,
        "provider": ctx.world.provider,
        "contract": {
            "number": f"HT-{ctx.op.token}",
            "signed_on": today - timedelta(days=30),
            "amount": amount,
            "starts_on": today - timedelta(days=30),
            "ends_on": today + timedelta(days=300),
        },
        "invoices": [
            {
                "issuer_uscc": ctx.world.provider.uscc,
                "code": "",
                "number": f"2644{today.year}{number:012d}",
                "issued_on": today,
                "amount": amount,
            }
        ],
        "payments": [{"bank_reference": f"BR-{ctx.op.token}", "paid_on": today, "amount": amount}],
        "delivery": {
            "starts_on": today,
            "ends_on": today,
            "service_type": "gpu",
            "quantity": 100,
            "unit": "card_hours",
        },
        "conditions": [RULE],
        "declaration_accepted": True,
    }


def claim(ctx: Context) -> str:
    """Draft, attach the invoice, submit, and evaluate (the worker's step), as one applicant's sitting."""
    applicant, entity, program = ctx.crew.applicant, ctx.entity(), ctx.program()
    ctx.op.step(applicant)
    draft = claim_create(actor=applicant, entity=entity, program=program, data=_claim_data(ctx, entity))
    ctx.op.step(applicant)
    evidence_upload(actor=applicant, claim=draft, kind="invoice", upload=SimpleUploadedFile("invoice.pdf", PDF))
    ctx.op.step(applicant)
    claim_submit(actor=applicant, claim=draft)
    ctx.op.step(applicant)
    claim_mark_evaluating(claim_id=draft.pk)
    return claim_evaluate(claim_id=draft.pk).status


def _in(ctx: Context, *statuses: str) -> QuerySet:
    return Claim.objects.filter(status__in=statuses, program__in=ctx.world.programs)


def decide(ctx: Context) -> str:
    """Decide the current stage of a claim in review: approve (confirming the condition, or now and then not),
    return or reject, as whoever the stage needs (now and then the wrong person)."""
    target = ctx.pick(_in(ctx, ClaimStatus.IN_REVIEW))
    if target is None:
        return "no_target"
    stages = target.program_version.parsed().review_stages
    role = stages[target.stage_index].role if target.stage_index < len(stages) else "reviewer"  # decided meanwhile
    actor = ctx.crew.finance if role == "finance" else ctx.rng.choice((ctx.crew.reviewer, ctx.crew.reviewer2))
    if ctx.rng.random() < 0.05:
        actor = ctx.crew.applicant  # not a reviewer at all: refused
    decision = ctx.rng.choices(("approve", "return", "reject"), weights=(8, 1, 1))[0]
    extra: dict[str, Any] = {}
    if decision != "approve":
        extra["reason"] = f"请补充材料 {ctx.op.token}"
    elif target.stage_index == 0:
        confirmed = ctx.rng.random() < 0.9
        extra["conditions"] = [{"code": RULE, "confirmed": confirmed, "reason": "已核实" if confirmed else "不符"}]
    if decision == "approve" and ctx.rng.random() < 0.15 and target.approved_amount:
        extra.update(amount=max(1, target.approved_amount - _yuan(10)), reason=f"核减 {ctx.op.token}")
    ctx.op.step(actor)
    return claim_decide(actor=actor, claim=target, decision=decision, **extra).status


def withdraw(ctx: Context) -> str:
    target = ctx.pick(_in(ctx, ClaimStatus.IN_REVIEW, ClaimStatus.RETURNED, ClaimStatus.IN_NOTICE))
    if target is None:
        return "no_target"
    ctx.op.step(ctx.crew.applicant)
    return claim_withdraw(actor=ctx.crew.applicant, claim=target, reason=f"撤回 {ctx.op.token}").status


def object_to(ctx: Context) -> str:
    """Anyone objects to a claim under notice (anonymous: the objection's reason carries the operation's token)."""
    target = ctx.pick(_in(ctx, ClaimStatus.IN_NOTICE, ClaimStatus.PAYABLE))
    if target is None:
        return "no_target"
    ctx.op.step()
    objection_file(claim=target, reason=f"异议 {ctx.op.token}", contact="13800000000")
    return "filed"


def resolve(ctx: Context) -> str:
    objection = ctx.pick(Objection.objects.filter(status=ObjectionStatus.OPEN, claim__program__in=ctx.world.programs))
    if objection is None:
        return "no_target"
    outcome = ctx.rng.choice((ObjectionStatus.UPHELD, ObjectionStatus.DISMISSED, "lowered"))
    amount = None
    if outcome == "lowered":
        approved = Claim.objects.get(pk=objection.claim_id).approved_amount or 0
        outcome, amount = ObjectionStatus.UPHELD, max(0, approved - _yuan(20))
    ctx.op.step(ctx.crew.reviewer)
    objection_resolve(
        actor=ctx.crew.reviewer, objection=objection, outcome=outcome, reason=f"核查 {ctx.op.token}", amount=amount
    )
    return f"{outcome}{'-lowered' if amount is not None else ''}"


def close_notice(ctx: Context) -> str:
    """The notice beat job, for one claim, on the day after its notice ends (time moves on for it alone)."""
    from voucher_service.claims.notice import notice_close

    target = ctx.pick(_in(ctx, ClaimStatus.IN_NOTICE))
    if target is None or target.notice_ends_on is None:
        return "no_target"
    ctx.op.step()
    return "payable" if notice_close(claim_id=target.pk, today=target.notice_ends_on + timedelta(days=1)) else "noop"


def pay(ctx: Context) -> str:
    target = ctx.pick(_in(ctx, ClaimStatus.PAYABLE))
    if target is None:
        return "no_target"
    ctx.op.step(ctx.crew.finance)
    payout = payout_request(
        actor=ctx.crew.finance, claim=target, paid_on=timezone.localdate(), bank_reference=f"CZ-{ctx.op.token}"
    )
    ctx.op.step(ctx.crew.finance)
    return payout_execute(payout_id=payout.pk).status


def claw_back(ctx: Context) -> str:
    target = ctx.pick(_in(ctx, ClaimStatus.PAID, ClaimStatus.CLAWED_BACK))
    if target is None:
        return "no_target"
    left = target.paid_amount - target.clawed_back_amount
    amount = left + YUAN if ctx.rng.random() < 0.2 else max(1, left // ctx.rng.choice((1, 2, 3)))
    reason = ctx.rng.choice([r for r in ClawbackReason.values if r != ClawbackReason.FRAUD] * 3 + ["fraud"])
    ctx.op.step(ctx.crew.finance)
    clawback_record(actor=ctx.crew.finance, claim=target, reason_code=reason, amount=amount, note=ctx.op.token)
    return "clawed_back"


def seal(ctx: Context) -> str:
    """The ledger's sealer (a beat job and an on-commit task), racing everything else."""
    from ledger.sealing import seal_pending

    ctx.op.step()
    return "sealed" if seal_pending() else "noop"


# Weights: how often each kind is drawn.
OPERATIONS: dict[str, tuple[Callable[[Context], str], int]] = {
    "apply": (apply, 14),
    "approve": (approve, 13),
    "reject": (reject, 2),
    "award": (award, 4),
    "bulk": (bulk, 3),
    "revoke": (revoke, 2),
    "expire": (expire, 2),
    "claim": (claim, 16),
    "decide": (decide, 20),
    "withdraw": (withdraw, 1),
    "object": (object_to, 3),
    "resolve": (resolve, 3),
    "close_notice": (close_notice, 6),
    "pay": (pay, 6),
    "claw_back": (claw_back, 3),
    "seal": (seal, 1),
}
