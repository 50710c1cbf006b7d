"""The one signal of the package: a new audit event of a kind that notifies someone sends ``notify_event`` once
its transaction commits (and never if it rolls back). No domain logic here; the sweeper catches whatever this
misses (events written in bulk, a broker that was down)."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_save

from accounts.models import AuditEvent
from core.transactions import enqueue_on_commit
from voucher_service.notifications.recipients import NOTIFYING_ACTIONS


def _audit_event_saved(sender: Any, instance: AuditEvent, created: bool, raw: bool = False, **_: Any) -> None:
    if created and not raw and instance.action in NOTIFYING_ACTIONS:
        from voucher_service.notifications.tasks import notify_event

        enqueue_on_commit(notify_event, instance.pk)


def connect() -> None:
    post_save.connect(_audit_event_saved, sender=AuditEvent, dispatch_uid="notifications.audit_event_saved")
