"""Registers: one row per voucher, application or audit event, as of a moment, in primary-key order.

Each reads through its domain's selectors (``vouchers_as_of``, ``applications_as_of``, ``audit_events``) and is
narrowed to the reader's scope (``scope.py``): the programs they audit, or their own entities' rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time
from typing import Any

from django.db.models import CharField, Q, QuerySet
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.selectors import audit_events
from voucher_service.programs.selectors import audit_targets as program_audit_targets
from voucher_service.reports.tabular import Column, Kind, Report, ReportContext
from voucher_service.vouchers import selectors as vouchers

BATCH = 2000


def day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def day_end(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.max))


def _in_scope(queryset: QuerySet, context: ReportContext, *, entity_field: str | None = "entity_id") -> QuerySet:
    scope = context.scope
    if scope.is_staff:
        return queryset
    visible = Q(program_id__in=scope.program_ids)
    if entity_field is not None:
        visible |= Q(**{f"{entity_field}__in": scope.entity_ids})
    return queryset.filter(visible)


def _filtered(queryset: QuerySet, context: ReportContext, moment_field: str) -> QuerySet:
    params = context.params
    if params.get("program") is not None:
        queryset = queryset.filter(program_id=params["program"])
    if params.get("entity") is not None:
        queryset = queryset.filter(entity_id=params["entity"])
    if params.get("status"):
        queryset = queryset.filter(status_then=params["status"])
    if params.get("date_from") is not None:
        queryset = queryset.filter(**{f"{moment_field}__gte": day_start(params["date_from"])})
    if params.get("date_to") is not None:
        queryset = queryset.filter(**{f"{moment_field}__lte": day_end(params["date_to"])})
    return queryset


class QuerysetReport(Report):
    """A report whose rows are a queryset in a stable order, read in batches (server-side cursors on PostgreSQL)."""

    def queryset(self, context: ReportContext) -> QuerySet:
        raise NotImplementedError

    def row(self, obj: Any, context: ReportContext) -> tuple[Any, ...]:
        raise NotImplementedError

    def rows(self, context: ReportContext) -> Iterator[tuple[Any, ...]]:
        for obj in self.queryset(context).iterator(BATCH):
            yield self.row(obj, context)

    def count(self, context: ReportContext) -> int:
        return self.queryset(context).count()

    def page(self, context: ReportContext, offset: int, limit: int) -> list[tuple[Any, ...]]:
        return [self.row(obj, context) for obj in self.queryset(context)[offset : offset + limit]]


class VoucherRegister(QuerysetReport):
    name = "vouchers"
    title = _("Voucher register")
    columns = (
        Column("serial", _("Serial number")),
        Column("program", _("Program"), Kind.INT),
        Column("program_code", _("Program code")),
        Column("entity", _("Holder"), Kind.INT),
        Column("entity_name", _("Holder name")),
        Column("fiscal_year", _("Fiscal year"), Kind.INT),
        Column("award_code", _("Award")),
        Column("face_value", _("Face value"), Kind.MONEY),
        Column("balance", _("Balance"), Kind.MONEY),
        Column("held", _("Reserved by claims"), Kind.MONEY),
        Column("status", _("Status")),
        Column("issued_at", _("Issued at"), Kind.DATETIME),
        Column("valid_from", _("Valid from"), Kind.DATE),
        Column("valid_until", _("Valid until"), Kind.DATE),
        Column("closed_at", _("Closed at"), Kind.DATETIME, nullable=True),
        Column("closed_amount", _("Amount returned or lapsed on closing"), Kind.MONEY, nullable=True),
        Column("closed_to", _("Returned or lapsed"), nullable=True),
        Column("close_reason", _("Reason for closing"), nullable=True),
    )

    def queryset(self, context: ReportContext) -> QuerySet:
        base = vouchers.vouchers_as_of(
            vouchers.Voucher.objects.select_related("program", "entity"), context.as_of
        ).order_by("pk")
        base = _in_scope(base, context)
        if context.params.get("fiscal_year") is not None:
            base = base.filter(fiscal_year=context.params["fiscal_year"])
        return _filtered(base, context, "issued_at")

    def row(self, voucher: Any, context: ReportContext) -> tuple[Any, ...]:
        closed = voucher.closed_at is not None and voucher.closed_at <= context.as_of
        return (
            voucher.serial,
            voucher.program_id,
            voucher.program.code,
            voucher.entity_id,
            voucher.entity.name,
            voucher.fiscal_year,
            voucher.award_code,
            voucher.face_value,
            voucher.balance_then,
            voucher.held_then,
            voucher.status_then,
            voucher.issued_at,
            voucher.valid_from,
            voucher.valid_until,
            voucher.closed_at if closed else None,
            voucher.closed_amount if closed else None,
            voucher.closed_to if closed else None,
            voucher.close_reason if closed else None,
        )


class ApplicationRegister(QuerysetReport):
    name = "applications"
    title = _("Application register")
    columns = (
        Column("id", _("Application"), Kind.INT),
        Column("program", _("Program"), Kind.INT),
        Column("program_code", _("Program code")),
        Column("entity", _("Applicant entity"), Kind.INT),
        Column("entity_name", _("Applicant name")),
        Column("fiscal_year", _("Fiscal year"), Kind.INT),
        Column("award_code", _("Award")),
        Column("requested_amount", _("Requested amount"), Kind.MONEY),
        Column("approved_amount", _("Approved amount"), Kind.MONEY, nullable=True),
        Column("status", _("Status")),
        Column("purpose", _("Purpose")),
        Column("submitted_at", _("Submitted at"), Kind.DATETIME),
        Column("submitted_by", _("Submitted by")),
        Column("decided_at", _("Decided at"), Kind.DATETIME, nullable=True),
        Column("decided_by", _("Decided by"), nullable=True),
        Column("rejection_reason", _("Reason for rejection"), nullable=True),
    )

    def queryset(self, context: ReportContext) -> QuerySet:
        base = vouchers.applications_as_of(
            vouchers.VoucherApplication.objects.select_related("program", "entity", "submitted_by", "decided_by"),
            context.as_of,
        ).order_by("pk")
        return _filtered(_in_scope(base, context), context, "submitted_at")

    def row(self, application: Any, context: ReportContext) -> tuple[Any, ...]:
        decided = application.decided_at is not None and application.decided_at <= context.as_of
        return (
            application.pk,
            application.program_id,
            application.program.code,
            application.entity_id,
            application.entity.name,
            application.fiscal_year,
            application.award_code,
            application.requested_amount,
            application.approved_amount if decided else None,
            application.status_then,
            application.purpose,
            application.submitted_at,
            application.submitted_by.username,
            application.decided_at if decided else None,
            application.decided_by.username if decided and application.decided_by else None,
            application.rejection_reason if decided else None,
        )


def audit_target_types() -> list[Any]:
    """Every domain's ``audit_targets``."""
    from voucher_service.claims.selectors import audit_targets as claim_audit_targets

    return [program_audit_targets, vouchers.audit_targets, claim_audit_targets]


def _audit_scope(context: ReportContext, program_ids: Any) -> Q:
    visible = Q(pk__in=[])
    for targets in audit_target_types():
        for label, pks in targets(program_ids):
            visible |= Q(target_type=label, target_id__in=pks.annotate(text=Cast("pk", CharField())).values("text"))
    return visible


class AuditLogRegister(QuerysetReport):
    name = "audit-log"
    title = _("Audit log")
    columns = (
        Column("id", _("Event"), Kind.INT),
        Column("occurred_at", _("When"), Kind.DATETIME),
        Column("actor", _("Who"), nullable=True),
        Column("system", _("By the system"), Kind.BOOL),
        Column("action", _("What")),
        Column("target_type", _("Record type")),
        Column("target_id", _("Record")),
        Column("organization", _("Organisation"), Kind.INT, nullable=True),
        Column("organization_name", _("Organisation name"), nullable=True),
        Column("before", _("Before"), Kind.JSON, nullable=True),
        Column("after", _("After"), Kind.JSON, nullable=True),
        Column("detail", _("Detail"), Kind.JSON),
    )

    def queryset(self, context: ReportContext) -> QuerySet:
        params = context.params
        events = audit_events().filter(occurred_at__lte=context.as_of).order_by("pk")
        if params.get("program") is not None:
            events = events.filter(_audit_scope(context, [params["program"]]))
        if not context.scope.is_staff:
            events = events.filter(_audit_scope(context, sorted(context.scope.program_ids)))
        if params.get("entity") is not None:
            events = events.filter(organization_id=params["entity"])
        if params.get("action"):
            events = events.filter(action=params["action"])
        if params.get("actor"):
            events = events.filter(actor__username=params["actor"])
        if params.get("target_type"):
            events = events.filter(target_type=params["target_type"])
        if params.get("target_id"):
            events = events.filter(target_id=params["target_id"])
        if params.get("date_from") is not None:
            events = events.filter(occurred_at__gte=day_start(params["date_from"]))
        if params.get("date_to") is not None:
            events = events.filter(occurred_at__lte=day_end(params["date_to"]))
        return events

    def row(self, event: Any, context: ReportContext) -> tuple[Any, ...]:
        detail = event.detail if isinstance(event.detail, dict) else {}
        return (
            event.pk,
            event.occurred_at,
            event.actor.username if event.actor else None,
            bool(detail.get("system")),
            event.action,
            event.target_type,
            event.target_id,
            event.organization_id,
            event.organization.name if event.organization else None,
            event.before,
            event.after,
            event.detail,
        )
