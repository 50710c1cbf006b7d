"""Voucher reads. What users read is always narrowed to what they may see; the sweeper's ``work_stalled`` and
the live figures of a bulk upload (``bulk_issuance_progress``) are read here too.

An entity's members see its own applications and vouchers. An agency's members see those of the programs their
agency issues or is responsible for. Staff see everything. Anything else is absent (the API answers 404).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.core.cache import cache
from django.db.models import Case, Model, Q, QuerySet, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import OrganizationKind
from accounts.selectors import user_memberships
from ledger.history import balance_as_of_expression, pending_debits_as_of_expression
from ledger.models import Account
from voucher_service.vouchers.models import (
    ApplicationStatus,
    BulkIssuance,
    BulkStatus,
    Issuance,
    IssuanceStatus,
    Voucher,
    VoucherApplication,
    VoucherStatus,
)

M = TypeVar("M", bound=Model)


def _scope(queryset: QuerySet[M], user: Any, *, entity_field: str | None = "entity") -> QuerySet[M]:
    if not getattr(user, "is_authenticated", False):
        return queryset.none()
    if user.is_staff:
        return queryset
    memberships = list(user_memberships(user).values_list("organization_id", "organization__kind"))
    agencies = [pk for pk, kind in memberships if kind == OrganizationKind.AGENCY]
    own = [pk for pk, kind in memberships if kind != OrganizationKind.AGENCY]
    visible = Q(program__issuing_agency_id__in=agencies) | Q(program__responsible_agencies__in=agencies)
    if entity_field:
        visible |= Q(**{f"{entity_field}_id__in": own})
    return queryset.filter(visible).distinct()


def applications_visible_to(user: Any) -> QuerySet[VoucherApplication]:
    return _scope(VoucherApplication.objects.select_related("program", "entity"), user)


def applications_to_decide_visible_to(user: Any) -> QuerySet[VoucherApplication]:
    """The submitted (undecided) applications of the user's programs, oldest first: what the agency decides."""
    return applications_visible_to(user).filter(status=ApplicationStatus.SUBMITTED).order_by("submitted_at", "pk")


def issuances_visible_to(user: Any) -> QuerySet[Issuance]:
    return _scope(Issuance.objects.select_related("program", "entity", "voucher"), user)


def vouchers_visible_to(user: Any) -> QuerySet[Voucher]:
    return _scope(Voucher.objects.select_related("program", "entity", "account"), user)


def bulk_issuances_visible_to(user: Any) -> QuerySet[BulkIssuance]:
    return _scope(BulkIssuance.objects.select_related("program"), user, entity_field=None)


def voucher_by_token(token: str) -> Voucher | None:
    return Voucher.objects.select_related("program", "entity", "account").filter(token=token).first()


def voucher_balance(voucher: Voucher) -> dict[str, int]:
    """Read from the voucher's ledger account: what is left, and what is reserved by pending holds."""
    account: Account = voucher.account
    return {
        "balance": account.posted_credits - account.posted_debits,
        "held": account.pending_debits,
        "available": account.posted_credits - account.posted_debits - account.pending_debits,
    }


# --- Point in time (auditor reports) ---------------------------------------------------------------------------


def vouchers_as_of(vouchers: QuerySet[Voucher], as_of: Any) -> QuerySet[Voucher]:
    """``vouchers`` issued by ``as_of``, each annotated with what it was then: ``balance_then`` and ``held_then``
    (read from its ledger account as of that moment) and ``status_then`` (revoked or expired if closed by then,
    exhausted once its balance reached zero, else active)."""
    return (
        vouchers.filter(issued_at__lte=as_of)
        .annotate(
            balance_posted=balance_as_of_expression("account_id", as_of),
            held_then=pending_debits_as_of_expression("account_id", as_of),
        )
        .annotate(
            balance_then=Coalesce("balance_posted", Value(0)),
            status_then=Case(
                When(closed_at__lte=as_of, then="status"),
                When(balance_posted=0, then=Value(VoucherStatus.EXHAUSTED.value)),
                default=Value(VoucherStatus.ACTIVE.value),
            ),
        )
    )


def applications_as_of(applications: QuerySet[VoucherApplication], as_of: Any) -> QuerySet[VoucherApplication]:
    """``applications`` submitted by ``as_of``, with ``status_then`` (its decision once made by then)."""
    return applications.filter(submitted_at__lte=as_of).annotate(
        status_then=Case(When(decided_at__lte=as_of, then="status"), default=Value(ApplicationStatus.SUBMITTED.value)),
    )


def vouchers_of_programs(program_ids: Any) -> QuerySet[Voucher]:
    return Voucher.objects.filter(program_id__in=program_ids)


def applications_of_programs(program_ids: Any) -> QuerySet[VoucherApplication]:
    return VoucherApplication.objects.filter(program_id__in=program_ids)


def voucher_accounts_of(program_id: int, year: int | None = None) -> QuerySet:
    """The ledger account ids of a program's vouchers (of one fiscal year, when named)."""
    vouchers = Voucher.objects.filter(program_id=program_id)
    if year is not None:
        vouchers = vouchers.filter(fiscal_year=year)
    return vouchers.values("account_id")


def audit_targets(program_ids: Any) -> list[tuple[str, QuerySet]]:
    """(audit target type, a queryset of primary keys) of every voucher-domain record of these programs."""
    return [
        ("vouchers.voucherapplication", VoucherApplication.objects.filter(program_id__in=program_ids).values("pk")),
        ("vouchers.voucher", Voucher.objects.filter(program_id__in=program_ids).values("pk")),
        ("vouchers.issuance", Issuance.objects.filter(program_id__in=program_ids).values("pk")),
        ("vouchers.bulkissuance", BulkIssuance.objects.filter(program_id__in=program_ids).values("pk")),
    ]


# --- Bulk issuance progress -----------------------------------------------------------------------------------


def bulk_progress_key(bulk_id: int) -> str:
    """The cache key under which a running bulk issuance publishes its live figures (``bulk.bulk_issuance_run``)."""
    return f"bulk-issuance:{bulk_id}:progress"


def bulk_issuance_progress(bulk: BulkIssuance) -> dict[str, int]:
    """Live figures while running (from the cache), else the committed counters."""
    live = cache.get(bulk_progress_key(bulk.pk)) if bulk.status == BulkStatus.RUNNING else None
    committed = {"processed_rows": bulk.processed_rows, "succeeded_rows": bulk.succeeded_rows}
    if live and live["processed_rows"] > committed["processed_rows"]:
        return live
    return committed


# --- Stalled work ------------------------------------------------------------------------------------------------

ISSUANCE_STALL_AFTER = timedelta(minutes=2)
BULK_STALL_AFTER = timedelta(minutes=10)


def work_stalled(now: datetime | None = None) -> tuple[list[int], list[int]]:
    """Issuances and bulk uploads whose task never ran or died (broker outage, worker crash): ids to re-send.

    Re-sending is always safe: the tasks are idempotent and a decided row is skipped.
    """
    now = now or timezone.now()
    issuances = Issuance.objects.filter(
        status=IssuanceStatus.PENDING, bulk__isnull=True, created_at__lt=now - ISSUANCE_STALL_AFTER
    ).values_list("pk", flat=True)
    bulks = (
        BulkIssuance.objects.filter(status__in=[BulkStatus.QUEUED, BulkStatus.RUNNING])
        .filter(created_at__lt=now - BULK_STALL_AFTER)
        .values_list("pk", flat=True)
    )
    return list(issuances[:1000]), list(bulks[:100])


def bulk_issuance_row_errors(bulk: BulkIssuance) -> list[dict[str, Any]]:
    """Every row of a bulk upload that issued nothing, by row number: refused when the file was read (its
    ``rejected_rows``: row, column, message) or refused when issued (a failed issuance: its failure message)."""
    errors = [
        {"row": rejected["row"], "column": column, "message": problem.get("message", "")}
        for rejected in bulk.rejected_rows
        for column, problems in rejected.get("fields", {}).items()
        for problem in problems
    ]
    failed = Issuance.objects.filter(bulk=bulk, status=IssuanceStatus.FAILED).select_related("entity")
    errors += [
        {"row": issuance.bulk_row, "column": issuance.entity.uscc or "", "message": issuance.failure_message}
        for issuance in failed
    ]
    return sorted(errors, key=lambda error: (error["row"] or 0, error["column"]))
