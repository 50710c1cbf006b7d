"""The API's rate limits, applied to the portal's forms: the same scopes and rates (settings.REST_FRAMEWORK's
DEFAULT_THROTTLE_RATES), counted per client address in the same cache."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from rest_framework.throttling import SimpleRateThrottle

from voucher_service.security import client_ip


class _ScopeThrottle(SimpleRateThrottle):
    def __init__(self, scope: str) -> None:
        self.scope = scope
        super().__init__()

    def get_cache_key(self, request: Any, view: Any) -> str:
        return self.cache_format % {"scope": f"portal-{self.scope}", "ident": client_ip(request)}


def allowed(request: HttpRequest, scope: str) -> bool:
    """Count this request against ``scope``; False once the scope's rate is used up."""
    return _ScopeThrottle(scope).allow_request(request, None)  # type: ignore[arg-type]
