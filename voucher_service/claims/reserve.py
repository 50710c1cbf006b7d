"""A claim's reserve: the ledger holds on its vouchers, its share of the yearly totals and rule totals, and the
"counts" marks that make its contract and invoices unique. Placed by a passing evaluation, released when the claim
leaves review without payout (returned, rejected, withdrawn), settled by the payout.

Lock order (the same for every writer here, after the claim row): ``ClaimYearTotal`` rows, then ``RuleTotal`` rows,
then the ledger accounts (the vouchers' and the clearing account), each set in primary-key order.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils.translation import gettext as _

from core.transactions import lock_in_pk_order
from ledger.models import Account, HoldStatus
from ledger.services import hold_create, hold_void
from voucher_service.claims.checks import Check, check, invoice_taken_by, invoice_taken_message
from voucher_service.claims.ledger_accounts import claims_account
from voucher_service.claims.models import Claim, ClaimHold, ClaimInvoice, ClaimYearTotal, RuleTotal
from voucher_service.claims.subsidy import Breakdown, RuleUse, reallocate_rules
from voucher_service.programs.rules import CapPeriod, ProgramRules
from voucher_service.programs.selectors import budget_for
from voucher_service.vouchers.models import Voucher


@dataclass
class Locked:
    """The rows an evaluation (or a re-evaluation) holds locked while it decides."""

    entity_total: ClaimYearTotal
    program_total: ClaimYearTotal
    rule_totals: dict[str, RuleTotal]
    accounts: dict[int, Account]
    clearing: Account

    def available(self, voucher: Voucher) -> int:
        account = self.accounts[voucher.account_id]
        return account.posted_credits - account.posted_debits - account.pending_debits

    def entity_left(self) -> int | None:
        total = self.entity_total
        return None if total.cap is None else total.cap - total.reserved - total.paid

    def budget_left(self) -> int | None:
        total = self.program_total
        return None if total.cap is None else total.cap - total.reserved - total.paid

    def rule_use(self) -> dict[str, RuleUse]:
        return {code: RuleUse(total.used, total.claims) for code, total in self.rule_totals.items()}


def rule_period(rules: ProgramRules, code: str, year: int) -> int:
    rule = next(r for r in rules.rate_rules if r.condition.code == code)
    return year if rule.period == CapPeriod.FISCAL_YEAR else 0


def _year_totals(claim: Claim, rules: ProgramRules, year: int) -> tuple[ClaimYearTotal, ClaimYearTotal]:
    budget = budget_for(claim.program, year)
    caps = {claim.entity_id: rules.per_entity_annual_cap, None: budget.cap if budget is not None else None}
    ClaimYearTotal.objects.bulk_create(
        [ClaimYearTotal(program_id=claim.program_id, entity_id=entity, fiscal_year=year) for entity in caps],
        ignore_conflicts=True,
    )
    rows = ClaimYearTotal.objects.filter(program_id=claim.program_id, fiscal_year=year)
    ids = rows.filter(Q(entity_id=claim.entity_id) | Q(entity__isnull=True)).values_list("pk", flat=True)
    locked = {total.entity_id: total for total in lock_in_pk_order(ClaimYearTotal, list(ids))}
    for entity, cap in caps.items():
        total = locked[entity]
        # The cap in force now, never below what is already reserved and paid (a cut leaves the row exactly full).
        wanted = None if cap is None else max(cap, total.reserved + total.paid)
        if total.cap != wanted:
            total.cap = wanted
            total.save(update_fields=["cap"])
    return locked[claim.entity_id], locked[None]


def _rule_totals(claim: Claim, rules: ProgramRules, year: int) -> dict[str, RuleTotal]:
    counted = [r for r in rules.rate_rules if r.cap is not None or r.once_per_entity]
    if not counted:
        return {}
    RuleTotal.objects.bulk_create(
        [
            RuleTotal(
                program_id=claim.program_id,
                entity_id=claim.entity_id,
                rule_code=r.condition.code,
                period=rule_period(rules, r.condition.code, year),
                cap=r.cap,
                once=r.once_per_entity,
            )
            for r in counted
        ],
        ignore_conflicts=True,
    )
    wanted = {(r.condition.code, rule_period(rules, r.condition.code, year)) for r in counted}
    candidates = RuleTotal.objects.filter(
        program_id=claim.program_id, entity_id=claim.entity_id, rule_code__in=[code for code, _p in wanted]
    ).values_list("pk", "rule_code", "period")
    ids = [pk for pk, code, period in candidates if (code, period) in wanted]
    return {total.rule_code: total for total in lock_in_pk_order(RuleTotal, ids)}


def lock_for(claim: Claim, rules: ProgramRules, vouchers: list[Voucher], year: int) -> Locked:
    entity_total, program_total = _year_totals(claim, rules, year)
    rule_totals = _rule_totals(claim, rules, year)
    clearing = claims_account(claim.program, year, "clearing")
    accounts = {a.pk: a for a in lock_in_pk_order(Account, [v.account_id for v in vouchers] + [clearing.pk])}
    return Locked(entity_total, program_total, rule_totals, accounts, accounts[clearing.pk])


class AlreadySubsidised(Exception):
    """The contract or an invoice counts for another claim already (the database's unique key said so)."""

    def __init__(self, refusal: Check) -> None:
        super().__init__(refusal.message["en"])
        self.refusal = refusal


def _mark_counting(claim: Claim) -> None:
    """Make the contract and the invoices count; the partial unique keys refuse a second claim on either. All or
    nothing: a refused invoice leaves the contract not counting either."""
    with transaction.atomic():
        _mark_counting_steps(claim)
    claim.counts = True


def _mark_counting_steps(claim: Claim) -> None:
    try:
        with transaction.atomic():
            Claim.objects.filter(pk=claim.pk).update(counts=True)
    except IntegrityError:
        first = (
            Claim.objects.filter(program_id=claim.program_id, contract_number=claim.contract_number, counts=True)
            .exclude(pk=claim.pk)
            .values_list("pk", flat=True)
            .first()
        )
        raise AlreadySubsidised(
            check(
                "contract_once",
                False,
                lambda: (
                    _("Contract %(number)s is already subsidised by claim #%(first)s.")
                    % {"number": claim.contract_number, "first": first}
                ),
            )
        ) from None
    for invoice in claim.invoices.all():
        try:
            with transaction.atomic():
                ClaimInvoice.objects.filter(pk=invoice.pk).update(counts=True)
        except IntegrityError:
            first = invoice_taken_by(invoice, claim)
            refusal = check("invoice_once", False, functools.partial(invoice_taken_message, invoice, first))
            raise AlreadySubsidised(refusal) from None


def _place_holds(claim: Claim, breakdown: Breakdown, locked: Locked, vouchers: list[Voucher], actor: Any) -> None:
    by_pk = {voucher.pk: voucher for voucher in vouchers}
    # Each hold names the reserve it belongs to (the claim's holds before it) and the reserve's rule allocation, so
    # the journal alone says what every rule cap counted, when (``selectors.claim_reserve_history``).
    reserve_number = ClaimHold.objects.filter(claim=claim).count()
    for voucher_id, amount in breakdown.voucher_allocation:
        voucher = by_pk[voucher_id]
        sequence = ClaimHold.objects.filter(claim=claim, voucher=voucher).count() + 1
        hold = hold_create(
            actor=actor,
            idempotency_key=f"claims:{claim.pk}:hold:{voucher.pk}:{sequence}",
            debit_account=voucher.account_id,
            credit_account=locked.clearing.pk,
            amount=amount,
            expires_at=None,
            memo=f"Claim #{claim.pk} reserves {amount} on voucher {voucher.serial}",
            metadata={
                "claim": claim.pk,
                "voucher": voucher.serial,
                "round": claim.round,
                "reserve": reserve_number,
                "subsidy": breakdown.subsidy,
                "rules": breakdown.rule_allocation,
                "combination": breakdown.combination,
            },
        )
        ClaimHold.objects.create(claim=claim, voucher=voucher, hold=hold, amount=amount)


def _add_to_totals(locked: Locked, amount: int, rules: dict[str, int], sign: int) -> None:
    for total in {locked.entity_total.pk: locked.entity_total, locked.program_total.pk: locked.program_total}.values():
        ClaimYearTotal.objects.filter(pk=total.pk).update(reserved=F("reserved") + sign * amount)
    for code, part in rules.items():
        if code in locked.rule_totals:
            RuleTotal.objects.filter(pk=locked.rule_totals[code].pk).update(
                used=F("used") + sign * part, claims=F("claims") + sign
            )


def reserve(
    claim: Claim, breakdown: Breakdown, locked: Locked, vouchers: list[Voucher], year: int, *, actor: Any, fresh: bool
) -> None:
    """Hold ``breakdown.subsidy`` on the vouchers and count it in the totals. ``fresh``: the contract and invoices
    are marked as counting too (raises ``AlreadySubsidised``, before any ledger row, if another claim has them)."""
    if fresh:
        _mark_counting(claim)
    _place_holds(claim, breakdown, locked, vouchers, actor)
    _add_to_totals(locked, breakdown.subsidy, breakdown.rule_allocation, +1)
    claim.reserve = {
        "fiscal_year": year,
        "amount": breakdown.subsidy,
        "rules": breakdown.rule_allocation,
        "combination": breakdown.combination,
    }
    claim.subsidy = claim.approved_amount = breakdown.subsidy
    claim.fiscal_year = year


def _lock_reserved(claim: Claim) -> Locked | None:
    if not claim.reserve:
        return None
    year = claim.reserve["fiscal_year"]
    version = claim.program_version
    if version is None:  # pragma: no cover - a reserve is placed only by an evaluation, which records its version
        raise RuntimeError(f"claim {claim.pk} reserves without a program version")
    rules = version.parsed()
    entity_total, program_total = _year_totals(claim, rules, year)
    clearing = claims_account(claim.program, year, "clearing")
    return Locked(entity_total, program_total, _rule_totals(claim, rules, year), {}, clearing)


def _void_holds(claim: Claim, actor: Any) -> None:
    for claim_hold in claim.holds.select_related("hold").order_by("pk"):
        if claim_hold.hold.status == HoldStatus.PENDING:
            hold_void(claim_hold.hold, actor=actor)


def release_reserve(claim: Claim, *, actor: Any, keep_counts: bool = False) -> None:
    """Undo the reserve: void the open holds, take the amounts out of the totals and (unless ``keep_counts``) let
    the contract and invoices go. Idempotent: a claim with no reserve is left as it is."""
    locked = _lock_reserved(claim)
    if locked is not None:
        _add_to_totals(locked, claim.reserve["amount"], claim.reserve.get("rules", {}), -1)
        _void_holds(claim, actor)
        claim.reserve = {}
    if not keep_counts and claim.counts:
        ClaimInvoice.objects.filter(claim=claim).update(counts=False)
        Claim.objects.filter(pk=claim.pk).update(counts=False)
        claim.counts = False
    claim.save(update_fields=["reserve", "updated_at"])


def settle_reserve(claim: Claim, paid: int) -> dict[str, int]:
    """At payout: the reserve becomes ``paid`` (at most the reserve); rules keep only the paid part. Returns the
    rule allocation of what was paid."""
    locked = _lock_reserved(claim)
    if locked is None:
        return {}
    reserved, allocation = claim.reserve["amount"], claim.reserve.get("rules", {})
    paid_allocation = reallocate_rules(allocation, claim.reserve.get("combination", ""), paid)
    for total in (locked.entity_total, locked.program_total):
        ClaimYearTotal.objects.filter(pk=total.pk).update(reserved=F("reserved") - reserved, paid=F("paid") + paid)
    for code, part in allocation.items():
        if code in locked.rule_totals:
            kept = paid_allocation.get(code, 0)
            RuleTotal.objects.filter(pk=locked.rule_totals[code].pk).update(
                used=F("used") - part + kept, claims=F("claims") - (0 if kept else 1)
            )
    claim.reserve = {}
    return paid_allocation
