"""A second factor for a user: one TOTP authenticator (django-otp's ``TOTPDevice``), enrolled and then asked for.

Enrolment is two steps: ``totp_enrol_start`` makes a fresh unconfirmed device (its secret shown once, as a QR code
and as text); ``totp_enrol_confirm`` checks a code from the app and makes it the user's one confirmed device.
``totp_verify`` checks a code at login. django-otp throttles a device after failed codes (each failure doubles
the wait) and refuses a code used before, so a code is good once. Enrolment and every failed code are audited;
a failure's transaction commits, so its throttle counts.
"""

from __future__ import annotations

from typing import Any

from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.audit import audit_record
from core.transactions import service_write

DEVICE_NAME = "portal"


def totp_device(user: Any) -> TOTPDevice | None:
    """The user's confirmed authenticator, or None."""
    if not getattr(user, "is_authenticated", False):
        return None
    return TOTPDevice.objects.filter(user_id=user.pk, confirmed=True).order_by("-pk").first()


def totp_pending(user: Any) -> TOTPDevice | None:
    """The authenticator being enrolled (not yet confirmed), or None."""
    return TOTPDevice.objects.filter(user_id=user.pk, confirmed=False).order_by("-pk").first()


def totp_throttled(user: Any) -> bool:
    """Whether the user's authenticator refuses codes for now, after wrong ones (django-otp's throttle)."""
    device = TOTPDevice.objects.filter(user_id=user.pk).order_by("confirmed", "-pk").first()
    return device is not None and not device.verify_is_allowed()[0]


@service_write
def totp_enrol_start(*, actor: Any) -> TOTPDevice:
    """A fresh unconfirmed authenticator for ``actor`` (any earlier unconfirmed one is dropped)."""
    TOTPDevice.objects.filter(user_id=actor.pk, confirmed=False).delete()
    device = TOTPDevice.objects.create(user=actor, name=DEVICE_NAME, confirmed=False)
    audit_record(actor=actor, action="account.totp_enrol_start", target=actor, after={"device": device.pk})
    return device


@service_write
def totp_enrol_confirm(*, actor: Any, token: str) -> TOTPDevice | None:
    """Confirm the pending authenticator with a code from it: it replaces any earlier one. None: wrong code (or
    nothing to confirm)."""
    device = TOTPDevice.objects.select_for_update().filter(user_id=actor.pk, confirmed=False).order_by("-pk").first()
    if device is None:
        return None
    if not device.verify_token(token):
        audit_record(actor=actor, action="account.totp_failure", target=actor, detail={"enrolment": True})
        return None
    replaced = list(TOTPDevice.objects.filter(user_id=actor.pk, confirmed=True).values_list("pk", flat=True))
    TOTPDevice.objects.filter(pk__in=replaced).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    audit_record(
        actor=actor, action="account.totp_enrol", target=actor, after={"device": device.pk, "replaced": replaced}
    )
    return device


@service_write
def totp_verify(*, actor: Any, token: str) -> TOTPDevice | None:
    """The user's confirmed authenticator if ``token`` is its current code, else None (a failure is audited)."""
    device = TOTPDevice.objects.select_for_update().filter(user_id=actor.pk, confirmed=True).order_by("-pk").first()
    if device is None:
        return None
    if device.verify_token(token):
        return device
    audit_record(actor=actor, action="account.totp_failure", target=actor)
    return None
