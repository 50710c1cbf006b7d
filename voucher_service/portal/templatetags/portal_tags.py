"""Template filters of the portal."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import translation

register = template.Library()


@register.filter
def in_language(messages: Any) -> str:
    """A message kept in every language (``{"zh-hans": …, "en": …}``) in the page's language."""
    if not isinstance(messages, dict):
        return str(messages)
    language = translation.get_language() or "zh-hans"
    return str(messages.get(language) or messages.get("zh-hans") or next(iter(messages.values()), ""))
