"""The text of notification emails, in the recipient's language, sent through Django's email backend."""

from __future__ import annotations

from collections.abc import Sequence

from django.conf import settings
from django.core.mail import send_mail
from django.utils import translation
from django.utils.translation import gettext as _

from voucher_service.notifications.links import absolute, link_for
from voucher_service.notifications.messages import detail, title
from voucher_service.notifications.models import Notification


def _lines(notification: Notification) -> list[str]:
    lines = [title(notification.kind, notification.params)]
    reason = detail(notification.params)
    if reason:
        lines.append(reason)
    lines.append(absolute(link_for(notification)))
    return lines


def _bulleted(lines: list[str]) -> list[str]:
    return [("* " if i == 0 else "  ") + line for i, line in enumerate(lines)]


def _footer() -> str:
    return _("You can choose one daily digest instead, under My notifications → Preferences: %(url)s") % {
        "url": absolute(_reverse_preferences())
    }


def _reverse_preferences() -> str | None:
    from django.urls import NoReverseMatch, reverse

    try:
        return reverse("portal:notification-preferences")
    except NoReverseMatch:
        return None


def send_one(notification: Notification, address: str, language: str) -> None:
    with translation.override(language):
        subject = _("[Compute vouchers] %(title)s") % {"title": title(notification.kind, notification.params)}
        body = "\n\n".join(["\n".join(_lines(notification)), _footer()])
        send_mail(subject[:200], body, settings.DEFAULT_FROM_EMAIL, [address])


def send_digest(notifications: Sequence[Notification], address: str, language: str, day: str) -> None:
    with translation.override(language):
        subject = _("[Compute vouchers] Your daily digest of %(day)s: %(count)d notifications") % {
            "day": day,
            "count": len(notifications),
        }
        items = ["\n".join(_bulleted(_lines(n))) for n in notifications]
        send_mail(subject, "\n\n".join([*items, _footer()]), settings.DEFAULT_FROM_EMAIL, [address])
