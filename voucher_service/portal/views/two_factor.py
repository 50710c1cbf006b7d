"""A finance user's second factor: enrol a TOTP authenticator (QR code and the secret as text), and give its code
after the password. The writes are ``accounts.two_factor``'s; the gate is ``portal.two_factor``."""

from __future__ import annotations

from base64 import b32encode

import django_otp
import segno
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from accounts.two_factor import (
    totp_device,
    totp_enrol_confirm,
    totp_enrol_start,
    totp_pending,
    totp_throttled,
    totp_verify,
)
from voucher_service.portal.agency_forms import TotpForm
from voucher_service.portal.roles import home_for
from voucher_service.portal.throttling import allowed
from voucher_service.portal.two_factor import is_finance, is_verified, second_factor_step

TOO_MANY = gettext_lazy("Too many attempts from this address. Wait a minute and try again.")


WRONG = gettext_lazy("That code is not right. Check the time on your phone and try again.")
WAIT = gettext_lazy("Too many wrong codes: wait a few seconds, then enter the code the app shows now.")


def _next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return home_for(request.user)
    return target or home_for(request.user)


def _qr_data_uri(url: str) -> str:
    """The QR code as an SVG data URI, drawn here: the secret it holds never leaves this page."""
    return str(segno.make(url, error="m").svg_data_uri(scale=4, border=2))


@never_cache
@sensitive_post_parameters("token")
@login_required
@require_http_methods(["GET", "POST"])
def enrol(request: HttpRequest) -> HttpResponse:
    if not is_finance(request.user):
        raise Http404
    if totp_device(request.user) is not None and not is_verified(request):
        # Replacing an authenticator takes the one there is: a password alone never sets up a new one.
        return redirect(second_factor_step(request, request.get_full_path()) or "portal:totp-verify")
    form = TotpForm(request.POST if request.POST.get("action") == "confirm" else None)
    status = 200
    if request.method == "POST" and request.POST.get("action") == "start":
        totp_enrol_start(actor=request.user)
        return redirect(request.get_full_path())
    if request.method == "POST" and form.is_bound:
        status = 400
        if not allowed(request, "auth"):
            form.add_error(None, TOO_MANY)
            status = 429
        elif form.is_valid() and totp_throttled(request.user):
            form.add_error("token", WAIT)
        elif form.is_valid():
            device = totp_enrol_confirm(actor=request.user, token=form.cleaned_data["token"])
            if device is not None:
                django_otp.login(request, device)
                messages.success(request, _("Your authenticator is set up. You will be asked for its code."))
                return redirect(_next(request))
            form.add_error("token", WRONG)
    pending = totp_pending(request.user)
    context = {
        "form": form,
        "pending": pending,
        "enrolled": totp_device(request.user) is not None,
        "next": request.POST.get("next") or request.GET.get("next", ""),
        "qr": _qr_data_uri(pending.config_url) if pending else "",
        "secret": b32encode(pending.bin_key).decode() if pending else "",
    }
    return render(request, "portal/totp_enrol.html", context, status=status)


@never_cache
@sensitive_post_parameters("token")
@login_required
@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest) -> HttpResponse:
    if totp_device(request.user) is None:
        raise Http404
    form = TotpForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if not allowed(request, "auth"):
            form.add_error(None, TOO_MANY)
            status = 429
        elif form.is_valid() and totp_throttled(request.user):
            form.add_error("token", WAIT)
        elif form.is_valid():
            device = totp_verify(actor=request.user, token=form.cleaned_data["token"])
            if device is not None:
                django_otp.login(request, device)
                return redirect(_next(request))
            form.add_error("token", WRONG)
    context = {"form": form, "next": request.POST.get("next") or request.GET.get("next", "")}
    return render(request, "portal/totp_verify.html", context, status=status)
