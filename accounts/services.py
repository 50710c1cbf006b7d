"""Writes about who: organisations, users and memberships.

Every public function here is a ``service_write`` (``core.transactions``): one durable transaction when called
alone, part of the caller's when there is one (the Django admin saves inside its own), retried on deadlock. Each
takes ``actor=`` and writes an audit event in that transaction.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from accounts.audit import SYSTEM, audit_record, snapshot
from accounts.errors import AccountsError, AccountsErrorCode
from accounts.models import ROLES_BY_KIND, Jurisdiction, Membership, Organization, User
from accounts.selectors import KINDS_AGENCIES_REGISTER, can_manage_organization
from accounts.validators import (
    normalize_uscc,
    personal_id_digest,
    personal_id_hint,
    validate_personal_id,
)
from core.transactions import service_write

ORGANIZATION_AUDIT_FIELDS = [
    "name",
    "kind",
    "category",
    "uscc",
    "jurisdiction",
    "settled_on",
    "settled_on_certified_by",
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
    """Check the number's form and keep only its digest and hint. Whether it is already registered is asked last
    (``_check_personal_id_unique``), once everything else is valid, so that the answer is no oracle."""
    try:
        validate_personal_id(personal_id)
    except ValidationError as exc:
        raise ValidationError({"personal_id": exc.error_list}) from exc
    organization.personal_id_digest = personal_id_digest(personal_id)
    organization.personal_id_hint = personal_id_hint(personal_id)


def _personal_id_taken() -> ValidationError:
    return ValidationError(
        {"personal_id": ValidationError(_("A maker with this personal ID is registered."), code="unique")}
    )


def _save_validated(organization: Organization) -> None:
    # The personal-ID uniqueness is left out of full_clean (it would be reported together with every other
    # error) and asked only once the rest is valid.
    organization.full_clean(exclude=["personal_id_digest"])
    digest = organization.personal_id_digest
    if digest and Organization.objects.filter(personal_id_digest=digest).exclude(pk=organization.pk).exists():
        raise _personal_id_taken()
    try:
        with transaction.atomic():
            organization.save()
    except IntegrityError as exc:
        # A concurrent registration won the race for the same USCC or personal ID between our check and our insert.
        if digest and Organization.objects.filter(personal_id_digest=digest).exclude(pk=organization.pk).exists():
            raise _personal_id_taken() from exc
        raise ValidationError(
            {"uscc": ValidationError(_("An organization with this unified social credit code exists."), code="unique")}
        ) from exc


def _certifier(actor: Any) -> User | None:
    return actor if isinstance(actor, User) else None


@service_write
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
        settled_on_certified_by=_certifier(actor) if settled_on is not None else None,
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


@service_write
def organization_update(*, actor: Any, organization: Organization, **changes: Any) -> Organization:
    unknown = set(changes) - ORGANIZATION_EDITABLE_FIELDS - {"personal_id"}
    if unknown:
        raise ValidationError({name: _("This field cannot be changed.") for name in sorted(unknown)})
    locked = Organization.objects.select_for_update().get(pk=organization.pk)
    _require_manager(actor, locked.kind, locked.jurisdiction)
    if "jurisdiction" in changes:
        _require_manager(actor, locked.kind, changes["jurisdiction"])
    before = snapshot(locked, ORGANIZATION_AUDIT_FIELDS)
    digest_before = locked.personal_id_digest
    personal_id = changes.pop("personal_id", None)
    if "uscc" in changes:
        changes["uscc"] = normalize_uscc(changes["uscc"]) or None if changes["uscc"] else None
    for field, value in changes.items():
        setattr(locked, field, value)
    if personal_id:
        _apply_personal_id(locked, personal_id)
    after = snapshot(locked, ORGANIZATION_AUDIT_FIELDS)
    if after == before and locked.personal_id_digest == digest_before:
        # Nothing changes: nothing is written and nothing is audited (an empty PATCH is not an event).
        return locked
    if after["settled_on"] != before["settled_on"]:
        locked.settled_on_certified_by = _certifier(actor)
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


USER_AUDIT_FIELDS = ["username", "email", "first_name", "last_name", "is_active", "is_staff", "is_superuser"]


@service_write
def user_create(*, actor: Any, username: str, password: str | None, email: str = "", **extra: Any) -> User:
    """Create a user; a password must pass the validators (AUTH_PASSWORD_VALIDATORS)."""
    user = User(username=username, email=email, **extra)
    user.full_clean(exclude=["password"])
    if password:
        # The project's AUTH_PASSWORD_VALIDATORS (length, common passwords, similarity to the user's own data…).
        try:
            password_validation.validate_password(password, user)
        except ValidationError as exc:
            raise ValidationError({"password": exc.error_list}) from exc
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    audit_record(actor=actor, action="user.create", target=user, after=snapshot(user, USER_AUDIT_FIELDS))
    return user


@service_write
def user_save(*, actor: Any, user: User, before: dict[str, Any] | None) -> User:
    """Save a user changed by staff (the Django admin) and audit what changed.

    ``before`` is the snapshot of the stored row (None for a new user). A changed password is audited without
    its value, and revokes the user's tokens (``User.save``).
    """
    password_changed = getattr(user, "_password", None) is not None
    user.save()
    after = snapshot(user, USER_AUDIT_FIELDS)
    if before is None:
        audit_record(actor=actor, action="user.create", target=user, after=after)
    elif after != before or password_changed:
        audit_record(
            actor=actor,
            action="user.update",
            target=user,
            before=before,
            after=after,
            detail={"password_changed": True} if password_changed else None,
        )
    return user


@service_write
def membership_grant(*, actor: Any, user: User, organization: Organization, role: str) -> Membership:
    """Give ``user`` a role in ``organization``. Granting a role the user
    already has is a no-op. Nobody grants a role to themselves, staff included (one person never gives
    themselves the power to move money)."""
    if actor is not SYSTEM and getattr(actor, "pk", None) == user.pk:
        raise AccountsError(AccountsErrorCode.PERMISSION_DENIED, _("Nobody may grant a role to themselves."))
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


@service_write
def membership_revoke(*, actor: Any, membership: Membership) -> None:
    """Take a role away, with an audit event that keeps who held what."""
    organization = membership.organization
    if not getattr(actor, "is_staff", False):
        _require_manager(actor, organization.kind, organization.jurisdiction)
    audit_record(
        actor=actor,
        action="membership.revoke",
        target=membership,
        organization=organization,
        before={"user": membership.user_id, "role": membership.role},
    )
    membership.delete()
