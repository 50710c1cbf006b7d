"""Reads of the reports package's own rows: grants in force, a user's export jobs, verification requests."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db.models import Q, QuerySet

from accounts.models import Role
from accounts.selectors import user_memberships
from voucher_service.reports.models import AuditorGrant, ExportJob, SpotCheck, VerificationRequest


def grants_in_force(on: date) -> QuerySet[AuditorGrant]:
    return AuditorGrant.objects.filter(until__gte=on, revoked_at__isnull=True)


def grants_visible_to(user: Any) -> QuerySet[AuditorGrant]:
    """Staff see every grant; a program administrator those naming a program of their agency; a grantee their own."""
    base = AuditorGrant.objects.select_related("grantee", "audit_firm", "granted_by").prefetch_related("programs")
    if not getattr(user, "is_authenticated", False) or getattr(user, "pk", None) is None:
        return base.none()
    if user.is_staff:
        return base.all()
    administered = user_memberships(user).filter(role=Role.PROGRAM_ADMIN).values_list("organization_id", flat=True)
    return base.filter(Q(grantee=user) | Q(programs__issuing_agency_id__in=list(administered))).distinct()


def export_jobs_of(user: Any) -> QuerySet[ExportJob]:
    if not getattr(user, "is_authenticated", False) or getattr(user, "pk", None) is None:
        return ExportJob.objects.none()
    return ExportJob.objects.filter(requested_by=user)


def verification_requests() -> QuerySet[VerificationRequest]:
    return VerificationRequest.objects.select_related("run", "requested_by")


def spot_checks_of(scope: Any) -> QuerySet[SpotCheck]:
    """The spot checks of the programs ``scope`` (a ``ReportScope``) covers, newest first."""
    return SpotCheck.objects.filter(program__in=scope.programs()).select_related("drawn_by", "program")
