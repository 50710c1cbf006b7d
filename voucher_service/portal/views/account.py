"""Session login and logout. The password check is Django's ``authenticate``, so django-axes counts failures per
account and address and locks out (audited, ``accounts.audit.audit_lockout``); the API's ``auth`` rate applies."""

from __future__ import annotations

from django.contrib import auth
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from voucher_service.portal.roles import home_for
from voucher_service.portal.throttling import allowed
from voucher_service.portal.two_factor import after_login


@sensitive_post_parameters("password")
@require_http_methods(["GET", "POST"])
def login(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated and request.method == "GET":
        return redirect(home_for(request.user))
    form = AuthenticationForm(request, data=request.POST or None)
    status = 200
    if request.method == "POST":
        if not allowed(request, "auth"):
            form.add_error(None, _("Too many login attempts from this address. Wait a minute and try again."))
            status = 429
        elif form.is_valid():
            auth.login(request, form.get_user())
            target = request.POST.get("next", "")
            if not url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
                target = ""
            return redirect(after_login(request, target or reverse(home_for(request.user))))
        else:
            status = 400
    return render(request, "portal/login.html", {"form": form, "next": request.GET.get("next", "")}, status=status)


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    auth.logout(request)
    return redirect("portal:home")
