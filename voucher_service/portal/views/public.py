"""Pages for anyone: the program catalogue, voucher verification (with its QR code), the 公示 list and objections."""

from __future__ import annotations

import io

import segno
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from accounts.selectors import public_name
from ledger.money import fen_to_yuan
from voucher_service.claims import selectors as claim_selectors
from voucher_service.claims import services as claim_services
from voucher_service.portal.errors import SERVICE_ERRORS, show_on_form
from voucher_service.portal.forms import ObjectionForm, VerifyForm
from voucher_service.portal.plain import rules_in_words
from voucher_service.portal.roles import home_for
from voucher_service.portal.throttling import allowed
from voucher_service.programs.budgets import current_fiscal_year
from voucher_service.programs.selectors import program_public_remaining, program_rules, programs_public
from voucher_service.vouchers.selectors import voucher_balance, voucher_by_token


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect(home_for(request.user))
    return render(request, "portal/home.html")


def _program_card(program, year: int) -> dict:
    rules = program_rules(program)
    remaining = program_public_remaining(program, year)
    return {
        "program": program,
        "rules": rules_in_words(rules) if rules is not None else [],
        "remaining": fen_to_yuan(remaining) if remaining is not None else None,
        "year": year,
    }


@require_GET
def catalogue(request: HttpRequest) -> HttpResponse:
    today, year = timezone.localdate(), current_fiscal_year()
    cards = [_program_card(program, year) for program in programs_public(today)]
    return render(request, "portal/catalogue.html", {"cards": cards})


@require_GET
def program_detail(request: HttpRequest, pk: int) -> HttpResponse:
    program = get_object_or_404(programs_public(timezone.localdate()), pk=pk)
    return render(request, "portal/program.html", {"card": _program_card(program, current_fiscal_year())})


@require_GET
def verify(request: HttpRequest) -> HttpResponse:
    form = VerifyForm(request.GET or None)
    if form.is_valid():
        return redirect("portal:verify-token", token=form.cleaned_data["token"].strip())
    return render(request, "portal/verify.html", {"form": form})


def _voucher_or_404(request: HttpRequest, token: str):
    if not allowed(request, "verify"):
        raise Http404
    voucher = voucher_by_token(token)
    if voucher is None:
        raise Http404
    return voucher


@require_GET
def verify_token(request: HttpRequest, token: str) -> HttpResponse:
    voucher = _voucher_or_404(request, token)
    context = {
        "voucher": voucher,
        "holder": public_name(voucher.entity),
        "face_value": fen_to_yuan(voucher.face_value),
        "balance": fen_to_yuan(voucher_balance(voucher)["balance"]),
        "token": token,
        "form": VerifyForm(),
    }
    return render(request, "portal/verify.html", context)


@require_GET
def verify_qr(request: HttpRequest, token: str) -> HttpResponse:
    """The QR code that opens this voucher's verification page (SVG, drawn here)."""
    voucher = _voucher_or_404(request, token)
    url = request.build_absolute_uri(reverse("portal:verify-token", args=[voucher.token]))
    buffer = io.BytesIO()
    segno.make(url, error="m").save(buffer, kind="svg", scale=4, border=2, title=voucher.serial)
    return HttpResponse(buffer.getvalue(), content_type="image/svg+xml")


@require_GET
def notices(request: HttpRequest) -> HttpResponse:
    rows = [
        {"claim": claim, "entity": public_name(claim.entity), "subsidy": fen_to_yuan(claim.approved_amount or 0)}
        for claim in claim_selectors.claims_under_notice()
    ]
    return render(request, "portal/notices.html", {"rows": rows})


@require_http_methods(["GET", "POST"])
def objection(request: HttpRequest, pk: int) -> HttpResponse:
    claim = get_object_or_404(claim_selectors.claims_under_notice(), pk=pk)
    form = ObjectionForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if not allowed(request, "objection"):
            form.add_error(None, _("Too many objections from this address. Try again later."))
            status = 429
        elif form.is_valid():
            try:
                claim_services.objection_file(claim=claim, **form.cleaned_data)
            except SERVICE_ERRORS as exc:
                show_on_form(form, exc)
            else:
                messages.success(request, _("Your objection was filed. The agency will look into it."))
                return redirect("portal:notices")
        status = status if status != 200 else 400
    context = {"claim": claim, "entity": public_name(claim.entity), "form": form}
    return render(request, "portal/objection.html", context, status=status)
