"""Who may do what to a claim, and the separation of duties around it (README "Roles" gives the same table).

* an **applicant** of the entity drafts, amends, submits and withdraws its claims;
* each review stage is decided by a member of one of the program's agencies (the issuing agency or a responsible
  one) with **that stage's role** (``review_stages``: 初审 and 复审 by reviewers, 财政 by finance by default);
* a **reviewer** of the program's agencies resolves objections raised during the public notice;
* **finance** of the program's agencies records payouts and clawbacks (and what a clawback recovered);
* an **applicant** of a platform records the platform's orders.

Separation of duties, on top of the role (the database holds the last two as well, ``models``):

* nobody who belongs to the claiming entity or to the provider decides, resolves, pays or claws back;
* the person who submitted a claim never decides it;
* nobody decides two stages of one claim.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.utils.translation import gettext as _

from accounts.models import Membership, Organization, Role
from accounts.selectors import user_has_role, user_memberships
from voucher_service.claims.errors import ClaimError, ClaimErrorCode
from voucher_service.programs.models import Program

APPLY = (Role.APPLICANT,)
REVIEW_ROLES = (Role.REVIEWER, Role.FINANCE, Role.PROGRAM_ADMIN)  # any stage role a program may name
RESOLVE_OBJECTIONS = (Role.REVIEWER,)
PAY = (Role.FINANCE,)
CLAW_BACK = (Role.FINANCE,)
RECORD_PLATFORM_ORDERS = (Role.APPLICANT,)


def program_agency_ids(program: Program) -> set[int]:
    return {program.issuing_agency_id, *program.responsible_agencies.values_list("pk", flat=True)}


def has_program_role(actor: Any, program: Program, roles: tuple[str, ...]) -> bool:
    if not getattr(actor, "is_authenticated", False):
        return False
    return Membership.objects.filter(
        user_id=actor.pk, organization_id__in=program_agency_ids(program), role__in=roles, organization__is_active=True
    ).exists()


def require_program_role(actor: Any, program: Program, roles: tuple[str, ...], message: str) -> None:
    if not has_program_role(actor, program, roles):
        raise ClaimError(ClaimErrorCode.PERMISSION_DENIED, message)


class ClaimMemberships:
    """``actor``'s active memberships in the program's agencies and in the claim's entity and provider, read in
    one statement (after the program's agencies), for the checks of one decision: ``require_program_role`` (as
    often as the decision needs) and ``require_independent`` without two statements each."""

    def __init__(self, actor: Any, program: Program, *, entity: Organization, provider: Organization) -> None:
        self.actor, self.agencies = actor, program_agency_ids(program)
        rows = user_memberships(actor).filter(organization_id__in=[*sorted(self.agencies), entity.pk, provider.pk])
        self.held = set(rows.values_list("organization_id", "role"))
        self.entity, self.provider = entity, provider

    def require_program_role(self, roles: tuple[str, ...], message: str) -> None:
        if not any(pk in self.agencies and role in roles for pk, role in self.held):
            raise ClaimError(ClaimErrorCode.PERMISSION_DENIED, message)

    def require_independent(self, *, submitted_by_id: Any) -> None:
        """As ``require_independent``, of the entity and provider given."""
        if getattr(self.actor, "pk", None) is not None and self.actor.pk == submitted_by_id:
            raise _submitted_it()
        if any(pk in (self.entity.pk, self.provider.pk) for pk, _role in self.held):
            raise _not_independent()


def require_applicant(actor: Any, entity: Organization) -> None:
    if not user_has_role(actor, entity, APPLY):
        raise ClaimError(ClaimErrorCode.PERMISSION_DENIED, _("Only an applicant of the entity may do this."))


def require_independent(actor: Any, *, entity: Organization, provider: Organization, submitted_by_id: Any) -> None:
    """Nobody of the claiming entity or the provider, and never the submitter."""
    if getattr(actor, "pk", None) is not None and actor.pk == submitted_by_id:
        raise _submitted_it()
    if user_memberships(actor).filter(Q(organization=entity) | Q(organization=provider)).exists():
        raise _not_independent()


def _submitted_it() -> ClaimError:
    return ClaimError(ClaimErrorCode.SEPARATION_OF_DUTIES, _("You submitted this claim, so you cannot decide it."))


def _not_independent() -> ClaimError:
    return ClaimError(
        ClaimErrorCode.SEPARATION_OF_DUTIES,
        _("You belong to the claiming entity or to its provider, so you cannot act on this claim."),
    )
