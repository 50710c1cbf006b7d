"""The second factor in the portal: who must give one, and the gate in front of the finance pages.

A finance user who has enrolled an authenticator gives its code after the password (the login sends them to
``portal:totp-verify``); one who has not must enrol before a finance page opens when
``PORTAL_FINANCE_REQUIRE_TOTP`` is on. The finance
pages (payouts) open only to a session that passed it (``request.user.is_verified()``, django-otp's middleware).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from accounts.models import Role
from accounts.two_factor import totp_device
from voucher_service.portal.roles import roles_of


def is_finance(user: Any) -> bool:
    return Role.FINANCE.value in roles_of(user)


def is_verified(request: HttpRequest) -> bool:
    verified = getattr(request.user, "is_verified", None)
    return bool(verified and verified())


def second_factor_step(request: HttpRequest, target: str, *, enrol: bool = True) -> str | None:
    """Where a finance user must go before ``target``: to give their code, or (``enrol``) to enrol when it is
    required; None when they may go on."""
    user = request.user
    if not is_finance(user) or is_verified(request):
        return None
    query = urlencode({"next": target})
    if totp_device(user) is not None:
        return f"{reverse('portal:totp-verify')}?{query}"
    if enrol and getattr(settings, "PORTAL_FINANCE_REQUIRE_TOTP", False):
        return f"{reverse('portal:totp-enrol')}?{query}"
    return None


def after_login(request: HttpRequest, target: str) -> str:
    """Where the login sends the user: ``target``, or first the code's page if they have an authenticator. (One
    who must still enrol is sent to enrol by the first finance page they open: their other work goes on.)"""
    return second_factor_step(request, target, enrol=False) or target


def finance_second_factor(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """For a finance page (after ``login_required``): a finance user who owes a second factor gives it first. A
    request that sends a form (POST) is not carried out; the page it came from is asked for again afterwards."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        step = second_factor_step(request, request.get_full_path())
        if step is not None:
            return redirect(step)
        return view(request, *args, **kwargs)

    return wrapper
