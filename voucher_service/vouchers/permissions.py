"""Who may move voucher money, and the separation of duties around it.

Money operations need a role in the program's issuing agency; being staff (a platform operator, Django admin) is
not enough, because operators run the platform, they do not decide subsidies. Which role does what is the table
below, written once (README "Roles" gives the same table and the reason):

* a **reviewer** decides single cases on their merits: approves or rejects an application, grants a one-time
  award;
* a **program administrator** runs the program: configures it, registers entities (and records their
  settling-in dates), carries out the agency's decisions on many at once (a bulk issuance of an approved list)
  and revokes vouchers.

Neither may do the other's part, so the person who sets up a program and registers an entity is never the one
who decides the money for it, and the person who decides single cases cannot push a list of payouts. On top of
the role:

* nobody decides an application of an entity they belong to (not just their own submission);
* nobody grants a one-time award whose condition they certified themselves: the person who last recorded the
  entity's settling-in date (落户日期, ``Organization.settled_on_certified_by``, kept on the row by the accounts
  services) cannot also grant the settling-in award.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from accounts.models import Organization, Role
from accounts.selectors import user_has_role, user_memberships
from voucher_service.vouchers.errors import VoucherError, VoucherErrorCode

DECIDE_APPLICATIONS = (Role.REVIEWER,)
GRANT_AWARDS = (Role.REVIEWER,)
ISSUE_IN_BULK = (Role.PROGRAM_ADMIN,)
REVOKE_VOUCHERS = (Role.PROGRAM_ADMIN,)


def require_role(actor: Any, organization: Organization, roles: tuple[str, ...], message: str) -> None:
    if not user_has_role(actor, organization, roles):
        raise VoucherError(VoucherErrorCode.PERMISSION_DENIED, message)


def require_independent_of(actor: Any, entity: Organization) -> None:
    if user_memberships(actor).filter(organization=entity).exists():
        raise _not_independent()


def _not_independent() -> VoucherError:
    return VoucherError(
        VoucherErrorCode.SEPARATION_OF_DUTIES, _("You belong to this entity, so you cannot decide on its vouchers.")
    )


class Memberships:
    """``actor``'s active memberships in a few organisations, read in one statement, for the checks of one
    decision: ``require_role`` and ``require_independent_of`` without a statement each."""

    def __init__(self, actor: Any, *organizations: Organization) -> None:
        rows = user_memberships(actor).filter(organization_id__in=[o.pk for o in organizations])
        self.held = set(rows.values_list("organization_id", "role"))

    def require_role(self, organization: Organization, roles: tuple[str, ...], message: str) -> None:
        if not any(pk == organization.pk and role in roles for pk, role in self.held):
            raise VoucherError(VoucherErrorCode.PERMISSION_DENIED, message)

    def require_independent_of(self, entity: Organization) -> None:
        if any(pk == entity.pk for pk, _role in self.held):
            raise _not_independent()


def settled_on_certifier_id(entity: Organization) -> int | None:
    """The user who last recorded the entity's settling-in date, read fresh from the row (None: nobody, or the
    system)."""
    return Organization.objects.filter(pk=entity.pk).values_list("settled_on_certified_by_id", flat=True).first()


def require_not_self_certified(actor: Any, entity: Organization) -> None:
    certifier_id = settled_on_certifier_id(entity)
    if certifier_id is not None and certifier_id == getattr(actor, "pk", None):
        raise VoucherError(
            VoucherErrorCode.SEPARATION_OF_DUTIES,
            _("You recorded this entity's settling-in date; another person must grant the award."),
        )
