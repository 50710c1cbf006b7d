"""Reads about who may see and do what. Every queryset an API returns is narrowed by these.

Scoping rules:

* A member sees their own organisations.
* A member of an **agency** also sees every organisation located in the agency's jurisdiction or below it
  (a regional agency sees its cities' entities; a city agency does not see its neighbour's).
* Staff (platform operators) see everything.

Anything outside a user's scope is simply absent from their querysets, so the API answers 404, not 403, and
does not reveal that it exists.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from django.db.models import Q, QuerySet

from accounts.models import (
    AuditEvent,
    EntityBar,
    EntityCategory,
    Jurisdiction,
    Membership,
    Organization,
    OrganizationKind,
    Role,
)


def user_memberships(user: Any) -> QuerySet[Membership]:
    # Anonymous users and the system actor (no user row) belong to no organisation.
    if not getattr(user, "is_authenticated", False) or getattr(user, "pk", None) is None:
        return Membership.objects.none()
    return Membership.objects.filter(user=user, organization__is_active=True).select_related(
        "organization__jurisdiction"
    )


def user_roles(user: Any, organization: Organization | None = None) -> set[str]:
    memberships = user_memberships(user)
    if organization is not None:
        memberships = memberships.filter(organization=organization)
    return set(memberships.values_list("role", flat=True))


def user_has_role(user: Any, organization: Organization, roles: Iterable[str]) -> bool:
    return bool(user_roles(user, organization) & set(roles))


def agency_jurisdictions(user: Any, roles: Iterable[str] | None = None) -> list[Jurisdiction]:
    """The jurisdictions of the agencies in which ``user`` holds one of ``roles`` (any agency role if None)."""
    memberships = user_memberships(user).filter(organization__kind=OrganizationKind.AGENCY)
    if roles is not None:
        memberships = memberships.filter(role__in=list(roles))
    return [m.organization.jurisdiction for m in memberships]


def jurisdiction_subtree_q(jurisdictions: Iterable[Jurisdiction], field: str = "jurisdiction") -> Q:
    """A filter for objects whose ``field`` lies in any of ``jurisdictions`` or below them."""
    query = Q(pk__in=[])
    for jurisdiction in jurisdictions:
        query |= Q(**{f"{field}__path": jurisdiction.path}) | Q(
            **{f"{field}__path__startswith": jurisdiction.path + "/"}
        )
    return query


def organizations_visible_to(user: Any) -> QuerySet[Organization]:
    base = Organization.objects.select_related("jurisdiction")
    if not getattr(user, "is_authenticated", False):
        return base.none()
    if user.is_staff:
        return base.all()
    own = Q(memberships__user=user)
    scoped = jurisdiction_subtree_q(agency_jurisdictions(user))
    return base.filter(own | scoped).distinct()


def agencies_administered_by(user: Any) -> QuerySet[Organization]:
    """Agencies in which ``user`` is a program administrator."""
    return Organization.objects.filter(
        kind=OrganizationKind.AGENCY,
        is_active=True,
        memberships__user=user,
        memberships__role=Role.PROGRAM_ADMIN,
    ).distinct()


# Which kinds of organisation a program administrator may register and edit (in their agency's jurisdiction).
# Agencies and platforms are the service's own structure: who administers whom, and through which platforms
# money may flow. An agency that could create or rename agencies could stand up a "sister" agency and give it
# programs and reviewers, so only staff (platform operators) register and edit them. README "Roles" says so.
KINDS_AGENCIES_REGISTER = frozenset({OrganizationKind.ENTITY, OrganizationKind.PROVIDER})


def can_manage_organization(user: Any, kind: str, jurisdiction: Jurisdiction) -> bool:
    """May ``user`` register or edit an organisation of ``kind`` located in ``jurisdiction``?"""
    if user.is_staff:
        return True
    return kind in KINDS_AGENCIES_REGISTER and can_manage_organizations_in(user, jurisdiction)


def can_manage_organizations_in(user: Any, jurisdiction: Jurisdiction) -> bool:
    """Staff, or a program administrator of an agency whose jurisdiction covers ``jurisdiction``."""
    if user.is_staff:
        return True
    return any(j.covers(jurisdiction) for j in agency_jurisdictions(user, roles=[Role.PROGRAM_ADMIN]))


def organization_barred_until(organization: Organization, on: date) -> EntityBar | None:
    """The bar in force on ``on`` (the newest bar decides: a later, shorter bar lifts an earlier one), or None."""
    newest = EntityBar.objects.filter(organization=organization).order_by("-created_at", "-id").first()
    return newest if newest is not None and newest.until >= on else None


def organizations_related(first: Organization, second: Organization) -> str | None:
    """Why two organisations are related parties (关联关系), or None: the same USCC, the same legal
    representative (by the digest of their ID number), or a declared affiliation."""
    if first.pk == second.pk or (first.uscc and first.uscc == second.uscc):
        return "same_uscc"
    if first.legal_representative_digest and first.legal_representative_digest == second.legal_representative_digest:
        return "same_legal_representative"
    if first.affiliates.filter(pk=second.pk).exists():
        return "declared_affiliation"
    return None


def audit_events() -> QuerySet[AuditEvent]:
    """The audit trail, for the auditor reports (who did what, when, before and after)."""
    return AuditEvent.objects.select_related("actor", "organization")


def audit_firm_auditor(firm_id: int, username: str) -> Membership | None:
    """The auditor membership of ``username`` in the audit firm ``firm_id`` (active firms only), or None."""
    return (
        Membership.objects.filter(
            organization_id=firm_id,
            organization__kind=OrganizationKind.AUDIT_FIRM,
            organization__is_active=True,
            role=Role.AUDITOR,
            user__username=username,
            user__is_active=True,
        )
        .select_related("user", "organization")
        .first()
    )


def audit_firms() -> QuerySet[Organization]:
    """Active audit firms: known to every agency, whose program administrators may grant their auditors access."""
    return Organization.objects.filter(kind=OrganizationKind.AUDIT_FIRM, is_active=True)


def public_name(organization: Organization) -> str:
    """The name shown to the public (voucher verification, 公示): a maker is a person, masked to the first
    character; any other organisation by its name."""
    name = organization.name
    if organization.category == EntityCategory.MAKER:
        return name[:1] + "*" * max(len(name) - 1, 2)
    return name
