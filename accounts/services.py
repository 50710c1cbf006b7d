"""Writes about who: organisations, users and memberships.

Every function here is one durable transaction, takes ``actor=`` and writes an audit event in that transaction.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from accounts.audit import audit_record, snapshot
from accounts.errors import AccountsError, AccountsErrorCode
from accounts.models import ROLES_BY_KIND, Jurisdiction, Membership, Organization, User
from accounts.selectors import KINDS_AGENCIES_REGISTER, can_manage_organization
from accounts.validators import (
    normalize_uscc,
    personal_id_digest,
    personal_id_hint,
    validate_personal_id,
)

ORGANIZATION_AUDIT_FIELDS = [
    "name",
    "kind",
    "category",
    "uscc",
    "jurisdiction",
    "settled_on",
    "address",
    "personal_id_hint",
    "is_active",
]
ORGANIZATION_EDITABLE_FIELDS = frozenset(
    {"name", "category", "uscc", "jurisdiction", "settled_on", "address", "is_active"}
)


def _require_manager(actor: Any, kind: str, jurisdiction: Jurisdiction) -> None:
    if can_manage_organization(actor, kind, jurisdiction):
        return
    if kind not in KINDS_AGENCIES_REGISTER:
        message = _("Only staff may register or edit agencies and platforms.")
    else:
        message = _("Only a program administrator of an agency covering this jurisdiction may do this.")
    raise AccountsError(AccountsErrorCode.PERMISSION_DENIED, message)


def _apply_personal_id(organization: Organization, personal_id: str) -> None:
    try:
        validate_personal_id(personal_id)
    except ValidationError as exc:
        raise ValidationError({"personal_id": exc.error_list}) from exc
    organization.personal_id_digest = personal_id_digest(personal_id)
    organization.personal_id_hint = personal_id_hint(personal_id)
    if (
        Organization.objects.filter(personal_id_digest=organization.personal_id_digest)
        .exclude(pk=organization.pk)
        .exists()
    ):
        raise ValidationError(
            {"personal_id": ValidationError(_("A maker with this personal ID is registered."), code="unique")}
        )


def _save_validated(organization: Organization) -> None:
    organization.full_clean()
    try:
        with transaction.atomic():
            organization.save()
    except IntegrityError as exc:
        # A concurrent registration won the race for the same USCC between our check and our insert.
        raise ValidationError(
            {"uscc": ValidationError(_("An organization with this unified social credit code exists."), code="unique")}
        ) from exc


@transaction.atomic(durable=True)
def organization_create(
    *,
    actor: Any,
    name: str,
    kind: str,
    jurisdiction: Jurisdiction,
    category: str = "",
    uscc: str | None = None,
    settled_on: date | None = None,
    address: str = "",
    personal_id: str | None = None,
) -> Organization:
    _require_manager(actor, kind, jurisdiction)
    organization = Organization(
        name=name,
        kind=kind,
        category=category or "",
        uscc=normalize_uscc(uscc) or None if uscc else None,
        jurisdiction=jurisdiction,
        settled_on=settled_on,
        address=address or "",
    )
    if personal_id:
        _apply_personal_id(organization, personal_id)
    _save_validated(organization)
    audit_record(
        actor=actor,
        action="organization.create",
        target=organization,
        organization=organization,
        after=snapshot(organization, ORGANIZATION_AUDIT_FIELDS),
    )
    return organization


@transaction.atomic(durable=True)
def organization_update(*, actor: Any, organization: Organization, **changes: Any) -> Organization:
    unknown = set(changes) - ORGANIZATION_EDITABLE_FIELDS - {"personal_id"}
    if unknown:
        raise ValidationError({name: _("This field cannot be changed.") for name in sorted(unknown)})
    locked = Organization.objects.select_for_update().get(pk=organization.pk)
    _require_manager(actor, locked.kind, locked.jurisdiction)
    if "jurisdiction" in changes:
        _require_manager(actor, locked.kind, changes["jurisdiction"])
    before = snapshot(locked, ORGANIZATION_AUDIT_FIELDS)
    personal_id = changes.pop("personal_id", None)
    if "uscc" in changes:
        changes["uscc"] = normalize_uscc(changes["uscc"]) or None if changes["uscc"] else None
    for field, value in changes.items():
        setattr(locked, field, value)
    if personal_id:
        _apply_personal_id(locked, personal_id)
    _save_validated(locked)
    audit_record(
        actor=actor,
        action="organization.update",
        target=locked,
        organization=locked,
        before=before,
        after=snapshot(locked, ORGANIZATION_AUDIT_FIELDS),
    )
    return locked


@transaction.atomic(durable=True)
def user_create(*, actor: Any, username: str, password: str | None, email: str = "", **extra: Any) -> User:
    user = User(username=username, email=email, **extra)
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.full_clean(exclude=["password"])
    user.save()
    audit_record(actor=actor, action="user.create", target=user, after={"username": username})
    return user


@transaction.atomic(durable=True)
def membership_grant(*, actor: Any, user: User, organization: Organization, role: str) -> Membership:
    """Give ``user`` a role in ``organization``. Granting a role the user already has is a no-op."""
    if not getattr(actor, "is_staff", False):
        _require_manager(actor, organization.kind, organization.jurisdiction)
    if role not in ROLES_BY_KIND[organization.kind]:
        raise ValidationError(
            {"role": ValidationError(_("This role does not exist in this kind of organization."), code="invalid")}
        )
    membership, created = Membership.objects.get_or_create(user=user, organization=organization, role=role)
    if created:
        audit_record(
            actor=actor,
            action="membership.grant",
            target=membership,
            organization=organization,
            after={"user": user.pk, "role": role},
        )
    return membership
