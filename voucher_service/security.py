"""HTTP-level security: the client's address, the login lockout's answer, and the Content-Security-Policy.

* ``client_ip``: the address that rate limits and the login lockout count against. X-Forwarded-For is written by
  whoever sends the request, so it is believed only as far as our own proxies go (``NUM_PROXIES``, the same rule
  as the API throttles).
* ``lockout_response``: what django-axes answers once an account or an address is locked out: the API's JSON
  error under /api/, a short page elsewhere (the admin login), both 429 with Retry-After.
* ``ContentSecurityPolicyMiddleware``: ``settings.CONTENT_SECURITY_POLICY`` on every response.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.html import format_html
from django.utils.translation import gettext as _


def client_ip(request: HttpRequest) -> str:
    remote = request.META.get("REMOTE_ADDR", "") or ""
    proxies = settings.NUM_PROXIES
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies <= 0 or not forwarded:
        return remote
    addresses = [part.strip() for part in forwarded.split(",") if part.strip()]
    if not addresses:
        return remote
    return addresses[-min(proxies, len(addresses))]


def lockout_seconds() -> int:
    return int(settings.AXES_COOLOFF_TIME.total_seconds())


def lockout_message() -> str:
    minutes = max(1, lockout_seconds() // 60)
    return _("Too many failed logins for this account or from this address. Try again in %(minutes)d minutes.") % {
        "minutes": minutes
    }


def lockout_response(request: HttpRequest, original_response: Any = None, credentials: Any = None) -> HttpResponse:
    from voucher_service.api.errors import error_body, is_api_path  # the API package imports DRF: keep this light

    response: HttpResponse
    if is_api_path(request):
        body = error_body(429, "login_locked_out", lockout_message())
        response = JsonResponse(body, status=429, json_dumps_params={"ensure_ascii": False})
    else:
        response = HttpResponse(
            format_html("<!doctype html><title>{}</title><p>{}</p>", _("Locked out"), lockout_message()), status=429
        )
    response["Retry-After"] = str(lockout_seconds())
    return response


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        policy = getattr(settings, "CONTENT_SECURITY_POLICY", "")
        if policy and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = policy
        return response
