"""Claim reads, always narrowed to what the user may see (anything else is absent: the API answers 404).

* an entity's members see its own claims;
* a member of one of the program's agencies (the issuing agency or a responsible one), whatever the role, sees the
  program's claims (its auditors read them all);
* staff see everything;
* a platform sees its own orders, and the program's agencies see the orders cited by their claims.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from accounts.models import AuditEvent, OrganizationKind
from accounts.selectors import user_memberships
from voucher_service.claims.models import (
    Claim,
    ClaimEvidence,
    ClaimStatus,
    Clawback,
    Objection,
    Payout,
    PlatformOrder,
)
from voucher_service.programs.models import Program


def _memberships(user: Any) -> tuple[list[int], list[int]]:
    memberships = user_memberships(user)
    agencies = list(
        memberships.filter(organization__kind=OrganizationKind.AGENCY).values_list("organization_id", flat=True)
    )
    own = list(
        memberships.exclude(organization__kind=OrganizationKind.AGENCY).values_list("organization_id", flat=True)
    )
    return agencies, own


def claims_visible_to(user: Any) -> QuerySet[Claim]:
    base = Claim.objects.select_related("program", "entity", "provider", "program_version")
    if not getattr(user, "is_authenticated", False):
        return base.none()
    if user.is_staff:
        return base
    agencies, own = _memberships(user)
    programs = Program.objects.filter(Q(issuing_agency_id__in=agencies) | Q(responsible_agencies__in=agencies))
    return base.filter(Q(program_id__in=programs.values("pk")) | Q(entity_id__in=own))


def claim_history(claim: Claim) -> QuerySet[AuditEvent]:
    """Who did what to the claim, when, with which amount and reason (the audit trail of the claim's row)."""
    return (
        AuditEvent.objects.filter(target_type=Claim._meta.label_lower, target_id=str(claim.pk))
        .select_related("actor")
        .order_by("id")
    )


def claim_evidence(claim: Claim) -> QuerySet[ClaimEvidence]:
    return claim.evidence.order_by("pk")


def claims_under_notice() -> QuerySet[Claim]:
    """What the public sees: every claim in its notice period (paused ones too)."""
    return (
        Claim.objects.filter(status=ClaimStatus.IN_NOTICE)
        .select_related("program", "entity")
        .order_by("notice_ends_on", "pk")
    )


def objections_visible_to(user: Any) -> QuerySet[Objection]:
    return Objection.objects.filter(claim__in=claims_visible_to(user).values("pk")).select_related("claim")


def platform_orders_visible_to(user: Any) -> QuerySet[PlatformOrder]:
    base = PlatformOrder.objects.select_related("platform", "provider")
    if not getattr(user, "is_authenticated", False):
        return base.none()
    if user.is_staff:
        return base
    agencies, own = _memberships(user)
    programs = Program.objects.filter(Q(issuing_agency_id__in=agencies) | Q(responsible_agencies__in=agencies))
    cited = Claim.objects.filter(program_id__in=programs.values("pk")).values("platform_order_id")
    return base.filter(Q(platform_id__in=own) | Q(pk__in=cited))


# --- Auditor reports ----------------------------------------------------------------------------------------


def claims_of_programs(program_ids: Any) -> QuerySet[Claim]:
    return Claim.objects.filter(program_id__in=program_ids)


def payouts_of_programs(program_ids: Any) -> QuerySet[Payout]:
    return Payout.objects.filter(claim__program_id__in=program_ids)


def clawbacks_of_programs(program_ids: Any) -> QuerySet[Clawback]:
    return Clawback.objects.filter(claim__program_id__in=program_ids)


def audit_targets(program_ids: Any) -> list[tuple[str, QuerySet]]:
    """(audit target type, a queryset of primary keys) of the claims of these programs."""
    return [("claims.claim", Claim.objects.filter(program_id__in=program_ids).values("pk"))]
