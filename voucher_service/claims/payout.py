"""Payout, clawback (追回) and recovery of a claim's subsidy.

**Payout.** Finance records the payout of a payable claim (date, bank reference); the task ``claims.execute_payout``
then posts it, once, whatever the retries or redeliveries (the payout row is locked and its status checked):

1. each of the claim's holds posts its part of the approved amount, soonest-expiring voucher first (the rest of a
   hold is released), from the voucher into the year's claims clearing account;
2. one entry splits the amount from clearing to each payer's funding account, by ``ProgramRules.split_amount``
   for the project's jurisdiction (the entity's location): a city-managed district 50 % city / 50 % district,
   a province-administered county 100 % county; the shares add up to the amount exactly;
3. a voucher left with nothing becomes ``exhausted``; the reserve in the totals becomes what was paid.

**Clawback.** Part or all of what was paid is owed back, for a reason code: one entry debits each payer's funding
account in the same proportions and credits the year's ``clawback_due``. For fraud the entity is barred from new
applications and claims for ``fraud_bar_months``. **Recovery** moves what came back from ``clawback_due`` to
``clawback_recovered``. Caps are not given back by a clawback: what was clawed back still counts as received.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.audit import audit_record
from accounts.services import entity_bar
from core.transactions import enqueue_on_commit, service_write
from ledger.models import Account, HoldStatus
from ledger.money import fen_to_yuan
from ledger.services import entry_post, hold_post, hold_void
from voucher_service.claims.errors import ClaimError, ClaimErrorCode, invalid
from voucher_service.claims.ledger_accounts import claims_account
from voucher_service.claims.models import (
    Claim,
    ClaimStatus,
    Clawback,
    ClawbackReason,
    ClawbackRecovery,
    Payout,
    PayoutStatus,
)
from voucher_service.claims.permissions import CLAW_BACK, PAY, require_independent, require_program_role
from voucher_service.claims.reserve import settle_reserve
from voucher_service.programs.budgets import budget_require_open
from voucher_service.programs.rules import ProgramRules, add_months
from voucher_service.vouchers.models import Voucher, VoucherStatus
from voucher_service.vouchers.services import voucher_return_released


def payout_key(claim_id: int) -> str:
    return f"claims:{claim_id}:payout"


def clawback_key(claim_id: int, clawback_id: int) -> str:
    return f"claims:{claim_id}:clawback:{clawback_id}"


def recovery_key(claim_id: int, recovery_id: int) -> str:
    return f"claims:{claim_id}:recovery:{recovery_id}"


def _lock_claim(claim_id: int) -> Claim:
    return (
        Claim.objects.select_for_update(of=("self",))
        .select_related("program", "entity__jurisdiction", "provider", "program_version")
        .get(pk=claim_id)
    )


def _rules(claim: Claim) -> ProgramRules:
    assert claim.program_version is not None  # noqa: S101 (a payable claim was evaluated under a version)
    return claim.program_version.parsed()


def shares_for(claim: Claim, amount: int) -> list[list[Any]]:
    """[[payer, fen], …] for ``amount`` of this claim, by the project's jurisdiction (the entity's location)."""
    split = _rules(claim).split_amount(amount, claim.entity.jurisdiction.admin_type)
    return [[payer.value, part] for payer, part in split]


def _require_finance(actor: Any, claim: Claim, roles: tuple[str, ...]) -> None:
    require_program_role(actor, claim.program, roles, _("Only finance of the program's agencies may do this."))
    require_independent(actor, entity=claim.entity, provider=claim.provider, submitted_by_id=claim.submitted_by_id)


def payout_refusal(actor: Any, claim: Claim) -> str | None:
    """Why ``actor`` may not record the payout of ``claim`` now, or None if they may: the same checks as
    ``payout_request``, read without locking or writing (the portal offers the form only when None)."""
    try:
        _require_finance(actor, claim, PAY)
    except ClaimError as exc:
        return str(exc)
    if claim.status != ClaimStatus.PAYABLE or Payout.objects.filter(claim=claim).exists():
        return _("Only a payable claim is paid, once; this one is %(status)s.") % {"status": claim.get_status_display()}
    return None


@service_write
def payout_request(*, actor: Any, claim: Claim, paid_on: date, bank_reference: str) -> Payout:
    """Finance records the payout; the ledger posts it in a task queued on commit (202)."""
    from voucher_service.claims.tasks import execute_payout

    locked = _lock_claim(claim.pk)
    _require_finance(actor, locked, PAY)
    if locked.status != ClaimStatus.PAYABLE or Payout.objects.filter(claim=locked).exists():
        raise ClaimError(
            ClaimErrorCode.INVALID_STATE,
            _("Only a payable claim is paid, once; this one is %(status)s.") % {"status": locked.get_status_display()},
        )
    amount = locked.approved_amount or 0
    payout = Payout.objects.create(
        claim=locked,
        paid_on=paid_on,
        bank_reference=bank_reference,
        amount=amount,
        shares=shares_for(locked, amount),
        requested_by=actor,
    )
    audit_record(
        actor=actor,
        action="claim.payout_request",
        target=locked,
        organization=locked.entity,
        after={"payout": payout.pk, "amount": amount, "shares": payout.shares, "bank_reference": bank_reference},
    )
    enqueue_on_commit(execute_payout, payout.pk)
    return payout


def _post_holds(claim: Claim, amount: int, actor: Any) -> set[int]:
    """Post ``amount`` from the claim's open holds in order; release whatever is left. The vouchers touched."""
    left, touched = amount, set()
    for claim_hold in claim.holds.select_related("hold").order_by("pk"):
        if claim_hold.hold.status != HoldStatus.PENDING:
            continue
        part = min(claim_hold.hold.amount, left)
        if part > 0:
            hold_post(claim_hold.hold, amount=part, actor=actor, metadata={"claim": claim.pk, "payout": True})
            left -= part
        else:
            hold_void(claim_hold.hold, actor=actor)
        touched.add(claim_hold.voucher_id)
    if left:  # pragma: no cover - the approved amount is never above what the holds reserve
        raise RuntimeError(f"claim {claim.pk}: {left} fen approved beyond its holds")
    return touched


def _exhaust(voucher_ids: set[int], actor: Any) -> list[str]:
    """A voucher with nothing left (posted balance and holds both zero) becomes exhausted."""
    exhausted = []
    for voucher in Voucher.objects.select_related("entity").filter(pk__in=sorted(voucher_ids)).order_by("pk"):
        account = Account.objects.get(pk=voucher.account_id)
        empty = account.posted_credits - account.posted_debits == 0 and account.pending_debits == 0
        if voucher.status != VoucherStatus.ACTIVE or not empty:
            continue
        voucher.status, voucher.closed_at = VoucherStatus.EXHAUSTED, timezone.now()
        voucher.save(update_fields=["status", "closed_at"])
        audit_record(
            actor=actor,
            action="voucher.exhausted",
            target=voucher,
            organization=voucher.entity,
            before={"status": VoucherStatus.ACTIVE},
            after={"status": voucher.status},
        )
        exhausted.append(voucher.serial)
    return exhausted


@service_write
def payout_execute(*, payout_id: int) -> Payout:
    """Post a recorded payout to the ledger (see the module docstring). Idempotent under any redelivery."""
    payout = Payout.objects.select_for_update().get(pk=payout_id)
    if payout.status == PayoutStatus.SUCCEEDED:
        return payout
    claim = _lock_claim(payout.claim_id)
    year = claim.reserve["fiscal_year"]
    paid_allocation = settle_reserve(claim, payout.amount)
    touched = _post_holds(claim, payout.amount, payout.requested_by)
    funding = budget_require_open(claim.program, year).funding
    clearing = claims_account(claim.program, year, "clearing")
    entry = entry_post(
        actor=payout.requested_by,
        idempotency_key=payout_key(claim.pk),
        lines=[(clearing, "debit", payout.amount)]
        + [(funding[payer], "credit", part) for payer, part in payout.shares if part > 0],
        memo=f"Payout of claim #{claim.pk}",
        metadata={
            "claim": claim.pk,
            "payout": payout.pk,
            "shares": payout.shares,
            "bank_reference": payout.bank_reference,
        },
    )
    exhausted = _exhaust(touched, payout.requested_by)
    for voucher_id in sorted(touched):  # a hold's unposted rest on a voucher closed meanwhile follows its balance
        voucher_return_released(actor=payout.requested_by, voucher_id=voucher_id)
    claim.status, claim.paid_amount = ClaimStatus.PAID, payout.amount
    claim.save()
    payout.status, payout.completed_at = PayoutStatus.SUCCEEDED, timezone.now()
    payout.save(update_fields=["status", "completed_at"])
    audit_record(
        actor=payout.requested_by,
        action="claim.pay",
        target=claim,
        organization=claim.entity,
        before={"status": ClaimStatus.PAYABLE},
        after={"status": claim.status, "paid_amount": payout.amount, "shares": payout.shares},
        detail={"entry": entry.pk, "exhausted": exhausted, "rules": paid_allocation, "paid_on": str(payout.paid_on)},
    )
    return payout


@service_write
def clawback_record(*, actor: Any, claim: Claim, reason_code: str, amount: int, note: str = "") -> Clawback:
    locked = _lock_claim(claim.pk)
    _require_finance(actor, locked, CLAW_BACK)
    if locked.status not in (ClaimStatus.PAID, ClaimStatus.CLAWED_BACK):
        raise ClaimError(ClaimErrorCode.INVALID_STATE, _("Only a paid claim can be clawed back."))
    left = locked.paid_amount - locked.clawed_back_amount
    if amount > left:
        raise invalid(
            "amount",
            "max_value",
            _("At most what was paid and not yet clawed back: %(left)s yuan.") % {"left": fen_to_yuan(left)},
        )
    if reason_code not in ClawbackReason.values:
        raise invalid("reason_code", "invalid_choice", _("Unknown reason code."))
    year = locked.fiscal_year or timezone.localdate().year
    rules = _rules(locked)
    clawback = Clawback.objects.create(
        claim=locked,
        reason_code=reason_code,
        amount=amount,
        note=note,
        shares=shares_for(locked, amount),
        created_by=actor,
    )
    funding = budget_require_open(locked.program, year).funding
    entry = entry_post(
        actor=actor,
        idempotency_key=clawback_key(locked.pk, clawback.pk),
        lines=[(funding[payer], "debit", part) for payer, part in clawback.shares if part > 0]
        + [(claims_account(locked.program, year, "clawback_due"), "credit", amount)],
        memo=f"Clawback of claim #{locked.pk} ({reason_code})",
        metadata={"claim": locked.pk, "clawback": clawback.pk, "reason": reason_code},
    )
    if reason_code == ClawbackReason.FRAUD and rules.fraud_bar_months:
        until = add_months(timezone.localdate(), rules.fraud_bar_months)
        entity_bar(
            actor=actor,
            organization=locked.entity,
            until=until,
            reason=note or reason_code,
            source=f"claims.claim:{locked.pk}",
        )
        clawback.barred_until = until
        clawback.save(update_fields=["barred_until"])
    before = {"status": locked.status, "clawed_back_amount": locked.clawed_back_amount}
    locked.status, locked.clawed_back_amount = ClaimStatus.CLAWED_BACK, locked.clawed_back_amount + amount
    locked.save()
    audit_record(
        actor=actor,
        action="claim.clawback",
        target=locked,
        organization=locked.entity,
        before=before,
        after={"status": locked.status, "clawed_back_amount": locked.clawed_back_amount},
        detail={
            "clawback": clawback.pk,
            "amount": amount,
            "reason": reason_code,
            "note": note,
            "entry": entry.pk,
            "barred_until": str(clawback.barred_until or ""),
        },
    )
    return clawback


@service_write
def clawback_recover(
    *, actor: Any, clawback: Clawback, amount: int, received_on: date, reference: str
) -> ClawbackRecovery:
    locked = Clawback.objects.select_for_update().get(pk=clawback.pk)
    claim = _lock_claim(locked.claim_id)
    _require_finance(actor, claim, CLAW_BACK)
    if amount > locked.amount - locked.recovered:
        raise invalid(
            "amount",
            "max_value",
            _("At most what is still owed: %(left)s yuan.") % {"left": fen_to_yuan(locked.amount - locked.recovered)},
        )
    year = claim.fiscal_year or timezone.localdate().year
    recovery = ClawbackRecovery.objects.create(
        clawback=locked, amount=amount, received_on=received_on, reference=reference, recorded_by=actor
    )
    entry_post(
        actor=actor,
        idempotency_key=recovery_key(claim.pk, recovery.pk),
        lines=[
            (claims_account(claim.program, year, "clawback_due"), "debit", amount),
            (claims_account(claim.program, year, "clawback_recovered"), "credit", amount),
        ],
        memo=f"Recovery on clawback #{locked.pk} of claim #{claim.pk}",
        metadata={"claim": claim.pk, "clawback": locked.pk, "recovery": recovery.pk},
    )
    locked.recovered += amount
    locked.save(update_fields=["recovered"])
    audit_record(
        actor=actor,
        action="claim.recovery",
        target=claim,
        organization=claim.entity,
        after={"clawback": locked.pk, "recovered": locked.recovered, "amount": amount, "reference": reference},
    )
    return recovery
