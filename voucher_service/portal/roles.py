"""Who the logged-in person is to the portal: their roles, their applying organisations."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from accounts.models import Organization, OrganizationKind, Role
from accounts.selectors import organizations_visible_to, user_memberships, user_roles

AGENCY_WORK = {Role.REVIEWER.value, Role.FINANCE.value}


def roles_of(user: Any) -> set[str]:
    return user_roles(user) if getattr(user, "is_authenticated", False) else set()


def own_entities(user: Any) -> QuerySet[Organization]:
    """The entities the user applies for (an applicant's membership)."""
    ids = user_memberships(user).filter(organization__kind=OrganizationKind.ENTITY, role=Role.APPLICANT)
    return organizations_visible_to(user).filter(pk__in=ids.values("organization_id")).order_by("name")


def home_for(user: Any) -> str:
    """The URL name of the user's home page."""
    roles = roles_of(user)
    if Role.APPLICANT in roles:
        return "portal:applicant-home"
    if roles & AGENCY_WORK:
        return "portal:work-queue"
    if Role.AUDITOR in roles:
        return "portal:auditor-home"
    if Role.PROGRAM_ADMIN in roles:
        return "portal:manage-home"
    return "portal:catalogue"
