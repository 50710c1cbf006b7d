"""Registers of the claims domain: claims (status as of then, each stage's decider and date, the evaluation
breakdown), payouts by payer (each payer's settlement statement for a period) and clawbacks with recoveries.

Status and approved amount as of a moment come from the claim's audit trail (the last ones recorded by then); the
subsidy evaluated from the last evaluation by then; amounts paid, clawed back and recovered count only what was
recorded by then.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice
from typing import Any

from django.db.models import OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from accounts.selectors import audit_events
from ledger.money import fen_to_yuan
from voucher_service.claims import selectors as claims
from voucher_service.claims.api.serializers import render_breakdown
from voucher_service.claims.models import ClaimStatus, ClawbackRecovery, PayoutStatus
from voucher_service.reports.registers import QuerysetReport, day_end, day_start
from voucher_service.reports.tabular import Column, Kind, ReportContext


def _scoped(queryset: QuerySet, context: ReportContext, program_field: str, entity_field: str | None) -> QuerySet:
    scope, params = context.scope, context.params
    if not scope.is_staff:
        visible = Q(**{f"{program_field}__in": scope.program_ids})
        if entity_field is not None:
            visible |= Q(**{f"{entity_field}__in": scope.entity_ids})
        queryset = queryset.filter(visible)
    if params.get("program") is not None:
        queryset = queryset.filter(**{program_field: params["program"]})
    if params.get("entity") is not None and entity_field is not None:
        queryset = queryset.filter(**{entity_field: params["entity"]})
    return queryset


def _dated(queryset: QuerySet, context: ReportContext, field: str) -> QuerySet:
    if context.params.get("date_from") is not None:
        queryset = queryset.filter(**{f"{field}__gte": day_start(context.params["date_from"])})
    if context.params.get("date_to") is not None:
        queryset = queryset.filter(**{f"{field}__lte": day_end(context.params["date_to"])})
    return queryset


class ClaimRegister(QuerysetReport):
    name = "claims"
    title = _("Claim register")
    columns = (
        Column("id", _("Claim"), Kind.INT),
        Column("program", _("Program"), Kind.INT),
        Column("entity", _("Claiming entity"), Kind.INT),
        Column("entity_name", _("Claiming entity name")),
        Column("provider", _("Provider"), Kind.INT),
        Column("contract_number", _("Contract number")),
        Column("contract_amount", _("Contract amount"), Kind.MONEY),
        Column("status", _("Status")),
        Column("subsidy", _("Subsidy evaluated"), Kind.MONEY, nullable=True),
        Column("approved_amount", _("Approved amount"), Kind.MONEY, nullable=True),
        Column("paid_amount", _("Paid"), Kind.MONEY),
        Column("clawed_back_amount", _("Clawed back"), Kind.MONEY),
        Column("created_at", _("Created at"), Kind.DATETIME),
        Column("submitted_at", _("Submitted at"), Kind.DATETIME, nullable=True),
        Column("decisions", _("Decisions (round, stage, decision, amount, reason, by, at)"), Kind.JSON),
        Column("evaluation", _("Evaluation breakdown"), Kind.JSON, nullable=True),
    )

    def queryset(self, context: ReportContext) -> QuerySet:
        queryset = claims.Claim.objects.select_related("entity").filter(created_at__lte=context.as_of).order_by("pk")
        return _dated(_scoped(queryset, context, "program_id", "entity_id"), context, "created_at")

    def rows(self, context: ReportContext) -> Iterator[tuple[Any, ...]]:
        wanted = context.params.get("status")
        for claim in self.queryset(context).iterator(500):
            row = self.row(claim, context)
            if not wanted or row[7] == wanted:
                yield row

    def count(self, context: ReportContext) -> int:
        if not context.params.get("status"):
            return self.queryset(context).count()
        return sum(1 for _ in self.rows(context))

    def page(self, context: ReportContext, offset: int, limit: int) -> list[tuple[Any, ...]]:
        if not context.params.get("status"):
            return super().page(context, offset, limit)
        return list(islice(self.rows(context), offset, offset + limit))

    def _status(self, claim: Any, context: ReportContext) -> str:
        return self._trail(claim, context)[0]

    def _trail(self, claim: Any, context: ReportContext) -> tuple[str, int | None]:
        """The status and the approved amount as of then: the last ones the claim's audit trail recorded (the
        evaluation records the subsidy it approves; each decision and objection the amount after it)."""
        events = audit_events().filter(
            target_type="claims.claim", target_id=str(claim.pk), occurred_at__lte=context.as_of
        )
        status, approved = None, None
        for after in events.order_by("-pk").values_list("after", flat=True).iterator(200):
            if not isinstance(after, dict):
                continue
            status = status or (str(after["status"]) if after.get("status") else None)
            if approved is None:
                approved = after.get("approved_amount", after.get("subsidy"))
            if status is not None and approved is not None:
                break
        return status or ClaimStatus.DRAFT.value, approved

    def _money_then(self, claim: Any, context: ReportContext) -> tuple[int, int]:
        """Paid (the payout posted by then) and clawed back (the clawbacks recorded by then)."""
        payouts = claims.payouts_of_programs([claim.program_id]).filter(claim=claim)
        paid = (
            payouts.filter(status=PayoutStatus.SUCCEEDED, completed_at__lte=context.as_of).aggregate(
                total=Sum("amount")
            )["total"]
            or 0
        )
        clawed = claim.clawbacks.filter(created_at__lte=context.as_of).aggregate(total=Sum("amount"))["total"] or 0
        return paid, clawed

    def row(self, claim: Any, context: ReportContext) -> tuple[Any, ...]:
        decisions = [
            {
                "round": d.round,
                "stage": d.stage_index,
                "stage_name": d.stage_name,
                "decision": d.decision,
                "amount": fen_to_yuan(d.amount) if d.amount is not None else None,
                "reason": d.reason,
                "by": d.decided_by.username,
                "at": d.decided_at.isoformat(),
            }
            for d in claim.decisions.filter(decided_at__lte=context.as_of).select_related("decided_by").order_by("pk")
        ]
        evaluation = claim.evaluations.filter(created_at__lte=context.as_of).order_by("-pk").first()
        submitted = claim.submitted_at if claim.submitted_at and claim.submitted_at <= context.as_of else None
        status, approved = self._trail(claim, context)
        paid, clawed = self._money_then(claim, context)
        return (
            claim.pk,
            claim.program_id,
            claim.entity_id,
            claim.entity.name,
            claim.provider_id,
            claim.contract_number,
            claim.contract_amount,
            status,
            evaluation.subsidy if evaluation is not None else None,
            approved,
            paid,
            clawed,
            claim.created_at,
            submitted,
            decisions,
            render_breakdown(evaluation.breakdown) if evaluation is not None else None,
        )


class PayoutRegister(QuerysetReport):
    """One row per payer's share of each payout: filtered by ``payer``, it is that payer's settlement statement."""

    name = "payouts"
    title = _("Payouts by payer")
    columns = (
        Column("payout", _("Payout"), Kind.INT),
        Column("claim", _("Claim"), Kind.INT),
        Column("program", _("Program"), Kind.INT),
        Column("entity", _("Claiming entity"), Kind.INT),
        Column("entity_name", _("Claiming entity name")),
        Column("paid_on", _("Paid on"), Kind.DATE),
        Column("bank_reference", _("Bank reference")),
        Column("payer", _("Payer")),
        Column("amount", _("Amount"), Kind.MONEY),
        Column("payout_amount", _("Payout total"), Kind.MONEY),
        Column("completed_at", _("Posted at"), Kind.DATETIME),
    )

    def queryset(self, context: ReportContext) -> QuerySet:
        payouts = claims.Payout.objects.select_related("claim__entity").filter(
            status=PayoutStatus.SUCCEEDED, completed_at__lte=context.as_of
        )
        payouts = _scoped(payouts, context, "claim__program_id", "claim__entity_id").order_by("pk")
        if context.params.get("date_from") is not None:
            payouts = payouts.filter(paid_on__gte=context.params["date_from"])
        if context.params.get("date_to") is not None:
            payouts = payouts.filter(paid_on__lte=context.params["date_to"])
        return payouts

    def rows(self, context: ReportContext) -> Iterator[tuple[Any, ...]]:
        payer = context.params.get("payer")
        for payout in self.queryset(context).iterator(2000):
            for share_payer, amount in payout.shares:
                if payer and share_payer != payer:
                    continue
                yield self._share(payout, share_payer, amount)

    def _share(self, payout: Any, payer: str, amount: int) -> tuple[Any, ...]:
        claim = payout.claim
        return (
            payout.pk,
            claim.pk,
            claim.program_id,
            claim.entity_id,
            claim.entity.name,
            payout.paid_on,
            payout.bank_reference,
            payer,
            amount,
            payout.amount,
            payout.completed_at,
        )

    def count(self, context: ReportContext) -> int:
        return sum(1 for _ in self.rows(context))

    def page(self, context: ReportContext, offset: int, limit: int) -> list[tuple[Any, ...]]:
        return list(islice(self.rows(context), offset, offset + limit))


class ClawbackRegister(QuerysetReport):
    name = "clawbacks"
    title = _("Clawbacks and recoveries")
    columns = (
        Column("id", _("Clawback"), Kind.INT),
        Column("claim", _("Claim"), Kind.INT),
        Column("program", _("Program"), Kind.INT),
        Column("entity", _("Claiming entity"), Kind.INT),
        Column("entity_name", _("Claiming entity name")),
        Column("reason_code", _("Reason")),
        Column("amount", _("Amount"), Kind.MONEY),
        Column("shares", _("Per payer"), Kind.JSON),
        Column("recovered", _("Recovered"), Kind.MONEY),
        Column("outstanding", _("Outstanding"), Kind.MONEY),
        Column("barred_until", _("Entity barred until"), Kind.DATE, nullable=True),
        Column("note", _("Note")),
        Column("created_by", _("Recorded by")),
        Column("created_at", _("Recorded at"), Kind.DATETIME),
    )

    def queryset(self, context: ReportContext) -> QuerySet:
        recovered = (
            ClawbackRecovery.objects.filter(clawback_id=OuterRef("pk"), recorded_at__lte=context.as_of)
            .order_by()
            .values("clawback_id")
            .annotate(total=Sum("amount"))
            .values("total")
        )
        clawbacks = (
            claims.Clawback.objects.select_related("claim__entity", "created_by")
            .filter(created_at__lte=context.as_of)
            .annotate(recovered_then=Coalesce(Subquery(recovered), 0))
        )
        clawbacks = _scoped(clawbacks, context, "claim__program_id", "claim__entity_id").order_by("pk")
        return _dated(clawbacks, context, "created_at")

    def row(self, clawback: Any, context: ReportContext) -> tuple[Any, ...]:
        claim = clawback.claim
        return (
            clawback.pk,
            claim.pk,
            claim.program_id,
            claim.entity_id,
            claim.entity.name,
            clawback.reason_code,
            clawback.amount,
            clawback.shares,
            clawback.recovered_then,
            clawback.amount - clawback.recovered_then,
            clawback.barred_until,
            clawback.note,
            clawback.created_by.username,
            clawback.created_at,
        )
