"""公示: after its last review stage a claim is publicly noticed for ``notice_working_days`` working days.

The public (no login) lists the claims under notice and may object (异议) with a reason and a contact. An open
objection pauses the claim: it does not become payable until a reviewer of the program resolves the objection,
upheld (the claim is rejected, or its amount lowered and the notice goes on) or dismissed (the notice resumes).
``notices_close`` (a beat job, and ``manage.py close_notices``) moves every claim whose notice has ended with no
open objection to ``payable``; it is idempotent.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.audit import SYSTEM, audit_record
from core.transactions import service_write
from ledger.money import fen_to_yuan
from voucher_service.claims.errors import ClaimError, ClaimErrorCode, invalid
from voucher_service.claims.models import Claim, ClaimStatus, Objection, ObjectionStatus
from voucher_service.claims.permissions import RESOLVE_OBJECTIONS, require_independent, require_program_role
from voucher_service.claims.reserve import release_reserve
from voucher_service.claims.working_days import add_working_days
from voucher_service.programs.rules import ProgramRules


def enter_notice(claim: Claim, rules: ProgramRules, today: date) -> None:
    """Start the notice today; it ends on the ``notice_working_days``-th working day after (0: none, payable now)."""
    days = rules.notice_working_days
    claim.notice_starts_on, claim.notice_ends_on = today, add_working_days(today, days)
    claim.status = ClaimStatus.IN_NOTICE if days > 0 else ClaimStatus.PAYABLE


@service_write
def objection_file(*, claim: Claim, reason: str, contact: str) -> Objection:
    """Anyone objects to a claim under notice. Anonymous: the audit event has no actor."""
    locked = Claim.objects.select_for_update(of=("self",)).select_related("entity").get(pk=claim.pk)
    if locked.status != ClaimStatus.IN_NOTICE:
        raise ClaimError(ClaimErrorCode.INVALID_STATE, _("This claim is not under public notice."))
    objection = Objection.objects.create(claim=locked, reason=reason, contact=contact)
    audit_record(
        actor=None,
        action="claim.objection",
        target=locked,
        organization=locked.entity,
        after={"objection": objection.pk},
        detail={"anonymous": True},
    )
    return objection


def objection_refusal(actor: Any, objection: Objection) -> str | None:
    """Why ``actor`` may not resolve ``objection`` now, or None if they may: the same checks as
    ``objection_resolve``, read without locking or writing (the portal offers the form only when None; the service
    checks again when it is sent)."""
    claim = objection.claim
    try:
        require_program_role(
            actor,
            claim.program,
            RESOLVE_OBJECTIONS,
            _("Only a reviewer of the program's agencies resolves objections."),
        )
        require_independent(actor, entity=claim.entity, provider=claim.provider, submitted_by_id=claim.submitted_by_id)
    except ClaimError as exc:
        return str(exc)
    if objection.status != ObjectionStatus.OPEN:
        return _("This objection has been resolved.")
    return None


@service_write
def objection_resolve(
    *, actor: Any, objection: Objection, outcome: str, reason: str, amount: int | None = None
) -> Objection:
    """upheld (with ``amount``: the claim's amount is lowered to it; without: the claim is rejected) or dismissed."""
    locked = Objection.objects.select_for_update().get(pk=objection.pk)
    claim = (
        Claim.objects.select_for_update(of=("self",))
        .select_related("program", "entity", "provider", "program_version")
        .get(pk=locked.claim_id)
    )
    require_program_role(
        actor, claim.program, RESOLVE_OBJECTIONS, _("Only a reviewer of the program's agencies resolves objections.")
    )
    require_independent(actor, entity=claim.entity, provider=claim.provider, submitted_by_id=claim.submitted_by_id)
    if locked.status != ObjectionStatus.OPEN:
        raise ClaimError(ClaimErrorCode.INVALID_STATE, _("This objection has been resolved."))
    if outcome not in (ObjectionStatus.UPHELD, ObjectionStatus.DISMISSED):
        raise invalid("outcome", "invalid_choice", _("Resolve as upheld or dismissed."))
    if amount is not None and amount <= 0:
        # Refused here, not by the database's CHECK (a 500); the API's field refuses it too (found by tests/stress).
        raise invalid("amount", "min_value", _("The amount must be more than zero."))
    if amount is not None and (outcome != ObjectionStatus.UPHELD or amount >= (claim.approved_amount or 0)):
        raise invalid("amount", "max_value", _("An upheld objection may lower the amount, to less than it is."))
    before = {"status": claim.status, "approved_amount": claim.approved_amount}
    if outcome == ObjectionStatus.UPHELD and claim.status == ClaimStatus.IN_NOTICE:
        if amount is None:
            release_reserve(claim, actor=actor)
            claim.status = ClaimStatus.REJECTED
            claim.outcome_reason = reason
        else:
            claim.approved_amount = amount
        claim.save()
    locked.status, locked.resolution, locked.lowered_to = outcome, reason, amount
    locked.resolved_by, locked.resolved_at = actor, timezone.now()
    locked.save()
    audit_record(
        actor=actor,
        action=f"claim.objection_{outcome}",
        target=claim,
        organization=claim.entity,
        before=before,
        after={"status": claim.status, "approved_amount": claim.approved_amount},
        detail={"objection": locked.pk, "reason": reason, "amount": fen_to_yuan(amount) if amount else None},
    )
    return locked


@service_write
def notice_close(*, claim_id: int, today: date) -> bool:
    """One claim whose notice has ended with no open objection becomes payable. False if nothing to do."""
    claim = Claim.objects.select_for_update(of=("self",)).select_related("entity").get(pk=claim_id)
    if claim.status != ClaimStatus.IN_NOTICE or claim.notice_ends_on is None or claim.notice_ends_on >= today:
        return False
    if claim.objections.filter(status=ObjectionStatus.OPEN).exists():
        return False
    claim.status = ClaimStatus.PAYABLE
    claim.save(update_fields=["status", "updated_at"])
    audit_record(
        actor=SYSTEM,
        action="claim.payable",
        target=claim,
        organization=claim.entity,
        before={"status": ClaimStatus.IN_NOTICE},
        after={"status": claim.status, "notice_ended_on": claim.notice_ends_on.isoformat()},
    )
    return True


def notices_close(*, today: date | None = None, claim_ids: list[int] | None = None) -> int:
    """Every claim (of ``claim_ids``, if given) whose notice has ended before ``today`` and that no open objection
    pauses: payable."""
    today = today or timezone.localdate()
    due = Claim.objects.filter(status=ClaimStatus.IN_NOTICE, notice_ends_on__lt=today)
    if claim_ids is not None:
        due = due.filter(pk__in=claim_ids)
    return sum(notice_close(claim_id=pk, today=today) for pk in list(due.values_list("pk", flat=True)))
