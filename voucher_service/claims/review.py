"""Review: the program's ``review_stages`` (初审 → 复审 → 财政 by default) decide in order.

Each stage is decided once per round by a member of the program's agencies with that stage's role, independent of
the claim (``permissions``), and never by a person who decided another stage of the same claim. A stage:

* **approves**, optionally a lower amount (with a reason): the hold stays and posts partially at payout; after the
  last stage the claim enters its public notice (``notice``);
* **rejects** (with a reason): the reserve is released;
* **returns** it for correction (saying what to fix): the reserve is released, the entity amends and resubmits,
  and evaluation runs again.

At the first stage, every claimed rate condition whose ``check`` is ``reviewer`` is confirmed or denied with a
reason; a denial recomputes the subsidy and the hold. Every decision is kept (``ClaimDecision``), never overwritten.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.audit import audit_record
from core.transactions import service_write
from voucher_service.claims.errors import ClaimError, ClaimErrorCode, invalid
from voucher_service.claims.evaluation import compute_for, context_for
from voucher_service.claims.models import Claim, ClaimDecision, ClaimStageDecider, ClaimStatus, Decision
from voucher_service.claims.notice import enter_notice
from voucher_service.claims.permissions import (
    REVIEW_ROLES,
    ClaimMemberships,
    require_independent,
    require_program_role,
)
from voucher_service.claims.reserve import lock_for, release_reserve, reserve
from voucher_service.programs.rules import ProgramRules, ReviewStage
from voucher_service.vouchers.models import Voucher


def _lock(claim: Claim) -> Claim:
    return (
        Claim.objects.select_for_update(of=("self",))
        .select_related("program", "entity", "provider", "program_version")
        .get(pk=claim.pk)
    )


def _stage(locked: Claim) -> tuple[ProgramRules, ReviewStage]:
    assert locked.program_version is not None  # noqa: S101 (a claim in review was evaluated under a version)
    rules = locked.program_version.parsed()
    return rules, rules.review_stages[locked.stage_index]


def _pin_decider(actor: Any, locked: Claim) -> None:
    """One stage per person and claim: the first decision pins the person to its stage (the database agrees)."""
    pinned = ClaimStageDecider.objects.filter(claim=locked, user_id=actor.pk).first()
    if pinned is None:
        try:
            with transaction.atomic():
                ClaimStageDecider.objects.create(claim=locked, user=actor, stage_index=locked.stage_index)
        except IntegrityError:  # pragma: no cover - the claim row is locked, so no twin can insert meanwhile
            pinned = ClaimStageDecider.objects.get(claim=locked, user_id=actor.pk)
    if pinned is not None and pinned.stage_index != locked.stage_index:
        raise ClaimError(
            ClaimErrorCode.SEPARATION_OF_DUTIES,
            _("You decided stage %(stage)d of this claim; another person must decide this one.")
            % {"stage": pinned.stage_index + 1},
        )


def decision_refusal(actor: Any, claim: Claim) -> str | None:
    """Why ``actor`` may not decide ``claim``'s current stage now, or None if they may: the same checks as
    ``claim_decide``, read without locking or writing (the portal offers the decision form only when None; the
    service checks again when the form is sent)."""
    try:
        require_program_role(
            actor, claim.program, REVIEW_ROLES, _("Only a reviewer of the program's agencies may decide.")
        )
        require_independent(actor, entity=claim.entity, provider=claim.provider, submitted_by_id=claim.submitted_by_id)
    except ClaimError as exc:
        return str(exc)
    if claim.status != ClaimStatus.IN_REVIEW:
        return _("Only a claim in review can be decided; this one is %(status)s.") % {
            "status": claim.get_status_display()
        }
    _rules, stage = _stage(claim)
    try:
        require_program_role(
            actor,
            claim.program,
            (stage.role,),
            _("Stage %(name)s is decided by the role %(role)s.") % {"name": stage.name, "role": stage.role},
        )
    except ClaimError as exc:
        return str(exc)
    pinned = ClaimStageDecider.objects.filter(claim=claim, user_id=actor.pk).first()
    if pinned is not None and pinned.stage_index != claim.stage_index:
        return _("You decided stage %(stage)d of this claim; another person must decide this one.") % {
            "stage": pinned.stage_index + 1
        }
    return None


def _condition_reviews(
    locked: Claim, rules: ProgramRules, decision: str, conditions: Sequence[dict[str, Any]] | None
) -> tuple[list[dict[str, Any]], list[str]]:
    """The first stage's verdict on the reviewer-checked conditions: (what to record, the codes confirmed)."""
    to_review = [code for code in locked.conditions if code in rules.reviewer_conditions()]
    given = {item["code"]: item for item in conditions or []}
    if locked.stage_index != 0 or decision != Decision.APPROVE:
        if given:
            raise invalid("conditions", "not_applicable", _("Conditions are confirmed when the first stage approves."))
        return [], list(locked.conditions)
    unknown = sorted(set(given) - set(to_review))
    if unknown:
        raise invalid(
            "conditions",
            "invalid_choice",
            _("Not a condition to review here: %(codes)s.") % {"codes": ", ".join(unknown)},
        )
    missing = [code for code in to_review if code not in given]
    if missing:
        raise invalid(
            "conditions",
            "required",
            _("Confirm or deny each claimed condition: %(codes)s.") % {"codes": ", ".join(missing)},
        )
    for code, item in given.items():
        if not item["confirmed"] and not item.get("reason", "").strip():
            raise invalid("conditions", "reason_required", _("Say why condition %(code)s is denied.") % {"code": code})
    confirmed = [code for code in locked.conditions if code not in given or given[code]["confirmed"]]
    return [given[code] for code in to_review], confirmed


def _recompute(locked: Claim, confirmed: list[str], actor: Any) -> int:
    """A denied condition: the subsidy is computed again without it, and the hold replaced by the new amount."""
    vouchers = list(Voucher.objects.select_related("account").filter(claim_holds__claim=locked).distinct())
    vouchers.sort(key=lambda v: (v.valid_until, v.pk))
    release_reserve(locked, actor=actor, keep_counts=True)
    ctx = context_for(locked, vouchers)
    year = vouchers[0].fiscal_year
    locked_rows = lock_for(locked, ctx.rules, vouchers, year)
    breakdown = compute_for(ctx, locked_rows, confirmed)
    if breakdown.subsidy > 0:
        reserve(locked, breakdown, locked_rows, vouchers, year, actor=actor, fresh=False)
    locked.flags = [*locked.flags, "conditions_recomputed"]
    return breakdown.subsidy


@service_write
def claim_decide(
    *,
    actor: Any,
    claim: Claim,
    decision: str,
    amount: int | None = None,
    reason: str = "",
    conditions: Sequence[dict[str, Any]] | None = None,
) -> Claim:
    locked = _lock(claim)
    memberships = ClaimMemberships(actor, locked.program, entity=locked.entity, provider=locked.provider)
    # Permission before state: someone who may not decide learns nothing of where the claim stands.
    memberships.require_program_role(REVIEW_ROLES, _("Only a reviewer of the program's agencies may decide."))
    memberships.require_independent(submitted_by_id=locked.submitted_by_id)
    if locked.status != ClaimStatus.IN_REVIEW:
        raise ClaimError(
            ClaimErrorCode.INVALID_STATE,
            _("Only a claim in review can be decided; this one is %(status)s.")
            % {"status": locked.get_status_display()},
        )
    rules, stage = _stage(locked)
    memberships.require_program_role(
        (stage.role,), _("Stage %(name)s is decided by the role %(role)s.") % {"name": stage.name, "role": stage.role}
    )
    if decision not in Decision.values:
        raise invalid("decision", "invalid_choice", _("Decide approve, reject or return."))
    if decision != Decision.APPROVE and not reason.strip():
        raise invalid("reason", "required", _("Say why (for a return: what to fix)."))
    if decision == Decision.APPROVE and amount is not None:
        if amount > (locked.approved_amount or 0):
            raise invalid("amount", "max_value", _("A stage may approve at most the amount before it."))
        if amount < (locked.approved_amount or 0) and not reason.strip():
            raise invalid("reason", "required", _("Say why the amount is lowered."))
    reviews, confirmed = _condition_reviews(locked, rules, decision, conditions)
    _pin_decider(actor, locked)
    submitted_by_id = locked.submitted_by_id
    assert submitted_by_id is not None  # noqa: S101 (a claim in review was submitted by someone)
    before = {"status": locked.status, "stage": locked.stage_index, "approved_amount": locked.approved_amount}
    try:
        with transaction.atomic():
            ClaimDecision.objects.create(
                claim=locked,
                round=locked.round,
                stage_index=locked.stage_index,
                stage_name=stage.name,
                decision=decision,
                amount=amount if decision == Decision.APPROVE else None,
                reason=reason,
                conditions=reviews,
                decided_by=actor,
                claim_submitted_by_id=submitted_by_id,
            )
    except IntegrityError as exc:  # pragma: no cover - the claim row is locked and its stage checked above
        raise ClaimError(ClaimErrorCode.ALREADY_DECIDED, _("This stage has been decided.")) from exc
    _apply(locked, rules, decision, amount, reason, confirmed, actor)
    audit_record(
        actor=actor,
        action=f"claim.{decision}",
        target=locked,
        organization=locked.entity,
        before=before,
        after={"status": locked.status, "stage": locked.stage_index, "approved_amount": locked.approved_amount},
        detail={"stage": stage.name, "amount": amount, "reason": reason, "conditions": reviews},
    )
    return locked


def _apply(
    locked: Claim, rules: ProgramRules, decision: str, amount: int | None, reason: str, confirmed: list[str], actor: Any
) -> None:
    if decision != Decision.APPROVE:
        release_reserve(locked, actor=actor)
        locked.status = ClaimStatus.REJECTED if decision == Decision.REJECT else ClaimStatus.RETURNED
        locked.outcome_reason = reason
        locked.save()
        return
    if confirmed != list(locked.conditions) and _recompute(locked, confirmed, actor) == 0:
        release_reserve(locked, actor=actor)
        locked.status = ClaimStatus.REJECTED
        locked.outcome_reason = _("No claimed condition was confirmed: nothing to subsidise.")
        locked.save()
        return
    if amount is not None:
        locked.approved_amount = min(amount, locked.approved_amount or amount)
    locked.stage_index += 1
    if locked.stage_index >= len(rules.review_stages):
        enter_notice(locked, rules, timezone.localdate())
    locked.save()
