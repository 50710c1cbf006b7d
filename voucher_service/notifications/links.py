"""Where a notification leads in the portal (a relative path, or an absolute URL for email)."""

from __future__ import annotations

from django.conf import settings
from django.urls import NoReverseMatch, reverse

from voucher_service.notifications.models import Notification


def _reverse(name: str, *args: object) -> str | None:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


def link_for(notification: Notification) -> str | None:
    target, pk, acting = notification.target_type, notification.target_id, notification.audience == "act"
    if target == "claims.claim" and pk:
        return _reverse("portal:review", int(pk)) if acting else _reverse("portal:claim", int(pk))
    if target == "vouchers.voucherapplication" and pk and acting:
        return _reverse("portal:application-decide", int(pk))
    if target == "programs.program" and pk:
        return _reverse("portal:program", int(pk))
    if acting:
        return _reverse("portal:work-queue")
    return _reverse("portal:applicant-home")


def absolute(path: str | None) -> str:
    base = settings.PORTAL_BASE_URL.rstrip("/")
    return f"{base}{path}" if path else f"{base}/"
