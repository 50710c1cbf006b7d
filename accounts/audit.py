"""Writing the audit trail. Called by every service, inside the service's own transaction."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

from accounts.models import AuditEvent, Organization, User


class SystemActor:
    """The actor of writes made by the system itself (management commands, beat tasks), not by a person.

    Services treat it as fully authorised; the audit event records no user and ``"system": true``. Views never
    pass it: they always pass ``request.user``.
    """

    is_authenticated = True
    is_staff = True
    pk = None

    def __repr__(self) -> str:
        return "SYSTEM"


SYSTEM = SystemActor()


def audit_record(
    *,
    actor: Any,
    action: str,
    target: models.Model,
    organization: Organization | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one audit event. It must run in the caller's transaction, so the event commits with the write."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit_record must be called inside the service's transaction")
    return AuditEvent.objects.create(
        actor=actor if getattr(actor, "pk", None) else None,
        action=action,
        target_type=target._meta.label_lower,
        target_id=str(target.pk),
        organization=organization,
        before=before,
        after=after,
        detail={**(detail or {}), **({"system": True} if actor is SYSTEM else {})},
    )


def snapshot(instance: models.Model, fields: list[str]) -> dict[str, Any]:
    """A JSON-safe picture of some fields, for an audit event's before/after."""
    out: dict[str, Any] = {}
    for name in fields:
        value = getattr(instance, name)
        if isinstance(value, models.Model):
            value = value.pk
        out[name] = value if isinstance(value, (str, int, bool, type(None))) else str(value)
    return out


def audit_record_many(
    *, actor: Any, action: str, targets: list[models.Model], organization_id_of: Any = None, detail_of: Any = None
) -> None:
    """One audit event per target in a single INSERT (bulk work such as a 10,000-row issuance)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit_record_many must be called inside the service's transaction")
    system = {"system": True} if actor is SYSTEM else {}
    AuditEvent.objects.bulk_create(
        [
            AuditEvent(
                actor=actor if getattr(actor, "pk", None) else None,
                action=action,
                target_type=target._meta.label_lower,
                target_id=str(target.pk),
                organization_id=organization_id_of(target) if organization_id_of else None,
                detail={**(detail_of(target) if detail_of else {}), **system},
            )
            for target in targets
        ],
        batch_size=1000,
    )


def audit_lockout(
    sender: Any, request: Any = None, username: str | None = None, ip_address: str | None = None, **_: Any
) -> None:
    """django-axes locked an account or an address out after repeated failed logins: record it, once per lockout.

    (Every further failure during the lockout signals again; one event per account, address and cool-off period
    keeps an attacker from filling the append-only trail.)"""
    cool_off = getattr(settings, "AXES_COOLOFF_TIME", None) or timedelta(minutes=15)
    detail = {"username": username or "", "ip_address": ip_address or "", "path": getattr(request, "path", "")}
    with transaction.atomic():
        recent = AuditEvent.objects.filter(
            action="auth.lockout",
            occurred_at__gte=timezone.now() - cool_off,
            detail__username=detail["username"],
            detail__ip_address=detail["ip_address"],
        )
        if recent.exists():
            return
        user = User.objects.filter(username=username).first() if username else None
        AuditEvent.objects.create(
            actor=None,
            action="auth.lockout",
            target_type=User._meta.label_lower,
            target_id=str(user.pk) if user else "",
            detail=detail,
        )
