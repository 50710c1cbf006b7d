"""The unread badge in the portal's header: ``{% include "notifications/_badge.html" %}``."""

from __future__ import annotations

from typing import Any

from django import template

from voucher_service.notifications.selectors import unread_count

register = template.Library()


@register.simple_tag(takes_context=True)
def notifications_unread(context: Any) -> int:
    request = context.get("request")
    user = getattr(request, "user", None)
    return unread_count(user) if getattr(user, "is_authenticated", False) else 0
