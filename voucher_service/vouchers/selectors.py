"""Voucher reads, always narrowed to what the user may see.

An entity's members see its own applications and vouchers. An agency's members see those of the programs their
agency issues or is responsible for. Staff see everything. Anything else is absent (the API answers 404).
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.db.models import Model, Q, QuerySet

from accounts.models import OrganizationKind
from accounts.selectors import user_memberships
from ledger.models import Account
from voucher_service.vouchers.models import BulkIssuance, Issuance, Voucher, VoucherApplication

M = TypeVar("M", bound=Model)


def _scope(queryset: QuerySet[M], user: Any, *, entity_field: str | None = "entity") -> QuerySet[M]:
    if not getattr(user, "is_authenticated", False):
        return queryset.none()
    if user.is_staff:
        return queryset
    memberships = user_memberships(user)
    agencies = list(
        memberships.filter(organization__kind=OrganizationKind.AGENCY).values_list("organization_id", flat=True)
    )
    own = list(
        memberships.exclude(organization__kind=OrganizationKind.AGENCY).values_list("organization_id", flat=True)
    )
    visible = Q(program__issuing_agency_id__in=agencies) | Q(program__responsible_agencies__in=agencies)
    if entity_field:
        visible |= Q(**{f"{entity_field}_id__in": own})
    return queryset.filter(visible).distinct()


def applications_visible_to(user: Any) -> QuerySet[VoucherApplication]:
    return _scope(VoucherApplication.objects.select_related("program", "entity"), user)


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
