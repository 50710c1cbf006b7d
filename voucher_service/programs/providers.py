"""Writes about the compute-provider registry: register a provider or platform (list it), edit its listing,
change its status. Each is a ``service_write`` (``core.transactions``) taking ``actor=``.

Who may write: staff, or a program administrator of an agency whose jurisdiction covers both the organisation's
own jurisdiction and the listing's (an agency lists only providers of its own jurisdiction, wherever their
compute sits inside it; otherwise it could take over another jurisdiction's provider by listing it as its own).
Every status change is a ``ProviderStatusChange`` row with its reason, and every write an audit event. The reads
(visibility, ``provider_in_scope``) are in ``selectors.py``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from accounts.audit import SYSTEM, audit_record, snapshot
from accounts.models import Jurisdiction, Organization, OrganizationKind
from accounts.selectors import can_manage_organizations_in
from core.transactions import service_write
from voucher_service.programs.errors import ProgramError, ProgramErrorCode
from voucher_service.programs.models import (
    ListingStatus,
    ProviderListing,
    ProviderStatusChange,
    ServiceType,
    actor_user,
)

LISTING_AUDIT_FIELDS = ["organization", "jurisdiction", "service_types", "valid_from", "valid_until", "status"]
EDITABLE_FIELDS = frozenset({"jurisdiction", "platforms", "service_types", "valid_from", "valid_until"})
LISTABLE_KINDS = (OrganizationKind.PROVIDER, OrganizationKind.PLATFORM)


def listing_snapshot(listing: ProviderListing) -> dict[str, Any]:
    out = snapshot(listing, LISTING_AUDIT_FIELDS)
    out["service_types"] = list(listing.service_types)
    out["platforms"] = sorted(listing.platforms.values_list("pk", flat=True))
    return out


def _require_manager(actor: Any, jurisdiction: Jurisdiction) -> None:
    if actor is SYSTEM:  # a management command or a scheduled task
        return
    if not can_manage_organizations_in(actor, jurisdiction):
        raise ProgramError(
            ProgramErrorCode.PERMISSION_DENIED,
            _("Only staff or a program administrator of an agency covering this jurisdiction may do this."),
        )


def _check(
    *,
    organization: Organization,
    platforms: Iterable[Organization],
    service_types: list[str],
    valid_from: date,
    valid_until: date | None,
) -> None:
    errors: dict[str, str] = {}
    if organization.kind not in LISTABLE_KINDS:
        errors["organization"] = _("Only compute providers and platforms are listed.")
    if any(platform.kind != OrganizationKind.PLATFORM for platform in platforms):
        errors["platforms"] = _("Providers sell through platforms; this is not a platform.")
    unknown = sorted(set(service_types) - set(ServiceType.values))
    if not service_types:
        errors["service_types"] = _("Name at least one service type.")
    elif unknown:
        errors["service_types"] = _("Unknown service type: %(types)s.") % {"types": ", ".join(unknown)}
    elif len(set(service_types)) != len(service_types):
        errors["service_types"] = _("A service type is listed twice.")
    if valid_until is not None and valid_until < valid_from:
        errors["valid_until"] = _("The end date is before the start date.")
    if errors:
        raise ValidationError(errors)


def _audit(actor: Any, action: str, listing: ProviderListing, before: Any, after: Any, **detail: Any) -> None:
    audit_record(
        actor=actor,
        action=action,
        target=listing,
        organization=listing.organization,
        before=before,
        after=after,
        detail=detail,
    )


@service_write
def provider_register(
    *,
    actor: Any,
    organization: Organization,
    service_types: list[str],
    valid_from: date,
    valid_until: date | None = None,
    jurisdiction: Jurisdiction | None = None,
    platforms: Iterable[Organization] = (),
    reason: str = "",
) -> ProviderListing:
    """Register ``organization`` (a provider or a platform) as listed, located in ``jurisdiction``."""
    jurisdiction = jurisdiction or organization.jurisdiction
    _require_manager(actor, organization.jurisdiction)
    _require_manager(actor, jurisdiction)
    platforms = list(platforms)
    _check(
        organization=organization,
        platforms=platforms,
        service_types=service_types,
        valid_from=valid_from,
        valid_until=valid_until,
    )
    if ProviderListing.objects.filter(organization=organization).exists():
        raise ValidationError({"organization": _("This organisation is already listed.")})
    listing = ProviderListing.objects.create(
        organization=organization,
        jurisdiction=jurisdiction,
        service_types=list(service_types),
        valid_from=valid_from,
        valid_until=valid_until,
        status=ListingStatus.LISTED,
    )
    listing.platforms.set(platforms)
    ProviderStatusChange.objects.create(
        listing=listing, to_status=ListingStatus.LISTED, reason=reason or _("Registered."), changed_by=actor_user(actor)
    )
    _audit(actor, "provider.list", listing, None, listing_snapshot(listing))
    return listing


@service_write
def provider_update(*, actor: Any, listing: ProviderListing, **changes: Any) -> ProviderListing:
    unknown = set(changes) - EDITABLE_FIELDS
    if unknown:
        raise ValidationError({name: _("This field cannot be changed.") for name in sorted(unknown)})
    locked = ProviderListing.objects.select_for_update().select_related("organization").get(pk=listing.pk)
    _require_manager(actor, locked.organization.jurisdiction)
    if "jurisdiction" in changes:
        _require_manager(actor, changes["jurisdiction"])
    before = listing_snapshot(locked)
    platforms = changes.pop("platforms", None)
    for name, value in changes.items():
        setattr(locked, name, value)
    _check(
        organization=locked.organization,
        platforms=platforms if platforms is not None else locked.platforms.all(),
        service_types=list(locked.service_types),
        valid_from=locked.valid_from,
        valid_until=locked.valid_until,
    )
    locked.save()
    if platforms is not None:
        locked.platforms.set(platforms)
    after = listing_snapshot(locked)
    if after != before:
        _audit(actor, "provider.update", locked, before, after)
    return locked


@service_write
def provider_set_status(*, actor: Any, listing: ProviderListing, status: str, reason: str) -> ProviderListing:
    """Suspend, delist or re-list a provider; the reason is required and kept in the status history."""
    locked = ProviderListing.objects.select_for_update().select_related("organization").get(pk=listing.pk)
    _require_manager(actor, locked.organization.jurisdiction)
    errors: dict[str, str] = {}
    if status not in ListingStatus.values:
        errors["status"] = _("Unknown status.")
    elif status == locked.status:
        errors["status"] = _("The listing already has this status.")
    if not reason.strip():
        errors["reason"] = _("Say why the status changes.")
    if errors:
        raise ValidationError(errors)
    before = listing_snapshot(locked)
    change = ProviderStatusChange.objects.create(
        listing=locked, from_status=locked.status, to_status=status, reason=reason, changed_by=actor_user(actor)
    )
    locked.status = status
    locked.save(update_fields=["status", "updated_at"])
    _audit(actor, "provider.status", locked, before, listing_snapshot(locked), reason=reason, change=change.pk)
    return locked
