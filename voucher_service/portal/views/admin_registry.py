"""The program administrator's registry pages: the compute-provider registry (list, register, change a listing's
status) and third-party auditor grants (grant an audit firm's auditor read access to named programs until a date;
revoke). They call ``programs.providers`` and ``reports.services``; the services decide who may."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.selectors import audit_firms
from voucher_service.portal.admin_forms import GrantForm, ProviderRegisterForm, ProviderStatusForm
from voucher_service.portal.errors import SERVICE_ERRORS, show_on_form
from voucher_service.portal.views.admin_programs import require_program_admin
from voucher_service.programs import providers as provider_services
from voucher_service.programs.selectors import (
    listable_organizations_visible_to,
    platforms_visible_to,
    programs_managed_by,
    provider_status_history,
    providers_visible_to,
)
from voucher_service.reports import services as report_services
from voucher_service.reports.selectors import grants_visible_to

# --- Providers --------------------------------------------------------------------------------------------------


def _register_form(request: HttpRequest) -> ProviderRegisterForm:
    unlisted = listable_organizations_visible_to(request.user).filter(provider_listing__isnull=True).order_by("name")
    platforms = platforms_visible_to(request.user).order_by("name")
    return ProviderRegisterForm(
        request.POST or None,
        organizations=[(o.pk, o.name) for o in unlisted],
        platforms=[(p.pk, p.name) for p in platforms],
    )


@login_required
@require_http_methods(["GET", "POST"])
def providers(request: HttpRequest) -> HttpResponse:
    require_program_admin(request)
    form = _register_form(request)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        data["organization"] = listable_organizations_visible_to(request.user).get(pk=data["organization"])
        data["platforms"] = list(platforms_visible_to(request.user).filter(pk__in=data["platforms"]))
        try:
            listing = provider_services.provider_register(actor=request.user, **data)
        except SERVICE_ERRORS as exc:
            show_on_form(form, exc)
        else:
            messages.success(request, _("%(name)s is listed.") % {"name": listing.organization.name})
            return redirect("portal:manage-providers")
    listings = providers_visible_to(request.user).order_by("organization__name")
    context = {"form": form, "listings": listings}
    return render(request, "portal/manage_providers.html", context, status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def provider_detail(request: HttpRequest, pk: int) -> HttpResponse:
    require_program_admin(request)
    listing = get_object_or_404(providers_visible_to(request.user), pk=pk)
    form = ProviderStatusForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            provider_services.provider_set_status(actor=request.user, listing=listing, **form.cleaned_data)
        except SERVICE_ERRORS as exc:
            show_on_form(form, exc)
        else:
            messages.success(request, _("The listing's status was changed."))
            return redirect("portal:manage-provider", pk=listing.pk)
    context = {"listing": listing, "form": form, "history": provider_status_history(listing)}
    return render(request, "portal/manage_provider.html", context, status=400 if form.errors else 200)


# --- Third-party auditor grants ---------------------------------------------------------------------------------


def _grant_form(request: HttpRequest) -> GrantForm:
    return GrantForm(
        request.POST or None,
        firms=[(firm.pk, firm.name) for firm in audit_firms().order_by("name")],
        programs=[(program.pk, program.name) for program in programs_managed_by(request.user)],
    )


def _grant_rows(request: HttpRequest) -> list[dict[str, Any]]:
    today = timezone.localdate()
    return [
        {"grant": grant, "in_force": grant.revoked_at is None and grant.until >= today}
        for grant in grants_visible_to(request.user).order_by("-pk")[:200]
    ]


@login_required
@require_http_methods(["GET", "POST"])
def grants(request: HttpRequest) -> HttpResponse:
    require_program_admin(request)
    form = _grant_form(request)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        data["audit_firm"] = audit_firms().get(pk=data["audit_firm"])
        data["programs"] = list(programs_managed_by(request.user).filter(pk__in=data["programs"]))
        try:
            report_services.grant_create(actor=request.user, **data)
        except SERVICE_ERRORS as exc:
            show_on_form(form, exc)
        else:
            messages.success(
                request,
                _("%(user)s may read the programs until %(day)s.")
                % {"user": data["username"], "day": data["until"].isoformat()},
            )
            return redirect("portal:manage-grants")
    context = {"form": form, "rows": _grant_rows(request)}
    return render(request, "portal/manage_grants.html", context, status=400 if form.errors else 200)


@login_required
@require_POST
def grant_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    require_program_admin(request)
    grant = get_object_or_404(grants_visible_to(request.user), pk=pk)
    try:
        report_services.grant_revoke(actor=request.user, grant=grant)
    except SERVICE_ERRORS as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("The grant was revoked."))
    return redirect("portal:manage-grants")
