"""The program administrator's money pages: bulk issuance from a CSV upload with its live progress (htmx polls a
small status partial until the run is done) and its per-row errors; a program's vouchers and their revocation;
one-time awards. The forms that move money carry an idempotency key (``portal.idempotency.run_once``).

Awards are granted by a reviewer of the program's agency (``vouchers.permissions.GRANT_AWARDS``): the award page
lists them for the program administrator and offers the form only to someone the service would accept.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from accounts.models import OrganizationKind, Role
from accounts.selectors import organizations_visible_to, user_has_role
from ledger.money import fen_to_yuan
from voucher_service.portal.admin_forms import AwardForm, BulkUploadForm, RevokeForm
from voucher_service.portal.errors import SERVICE_ERRORS, show_on_form
from voucher_service.portal.idempotency import Refused, Replayed, run_once, submit_once
from voucher_service.portal.roles import roles_of
from voucher_service.portal.views.admin_programs import managed_program, require_program_admin
from voucher_service.programs.selectors import program_current_version, programs_managed_by, programs_visible_to
from voucher_service.vouchers import bulk as bulk_services
from voucher_service.vouchers import services as voucher_services
from voucher_service.vouchers.models import BulkStatus, IssuanceKind
from voucher_service.vouchers.permissions import GRANT_AWARDS
from voucher_service.vouchers.selectors import (
    bulk_issuance_progress,
    bulk_issuance_row_errors,
    bulk_issuances_visible_to,
    issuances_visible_to,
    voucher_balance,
    vouchers_visible_to,
)

DONE = (BulkStatus.COMPLETED, BulkStatus.FAILED)


def _send(request: HttpRequest, form: forms.Form, operation: Callable[[], str]) -> HttpResponse | None:
    """Run a money-moving form's operation once (per its key): the redirect, or None with the refusal on the form."""
    return submit_once(request, form, operation)


# --- Bulk issuance ----------------------------------------------------------------------------------------------


def _row_errors(exc: Exception) -> list[dict[str, Any]]:
    """A refused file's per-row errors (``rows.<n>.<column>``), for the table under the form."""
    rows = []
    for path, problems in (getattr(exc, "fields", None) or {}).items():
        parts = path.split(".", 2)
        if len(parts) == 3 and parts[0] == "rows" and parts[1].isdigit():
            rows += [{"row": int(parts[1]), "column": parts[2], "message": p.get("message", "")} for p in problems]
    return sorted(rows, key=lambda row: (row["row"], row["column"]))


@login_required
@require_http_methods(["GET", "POST"])
def bulk_upload(request: HttpRequest, pk: int) -> HttpResponse:
    program = managed_program(request, pk)
    form = BulkUploadForm(request.POST or None, request.FILES or None)
    row_errors: list[dict[str, Any]] = []
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data

        def operation() -> str:
            created = bulk_services.bulk_issuance_create(
                actor=request.user,
                program=program,
                content=data["file"].read(),
                file_name=data["file"].name or "",
                mode=data["mode"],
                allow_duplicate_file=data["allow_duplicate_file"],
            )
            return reverse("portal:manage-bulk-status", args=[program.pk, created.pk])

        try:
            return redirect(run_once(request, operation))
        except Replayed as replay:
            return redirect(replay.location)
        except Refused as exc:
            form.add_error(None, str(exc))
        except SERVICE_ERRORS as exc:
            row_errors = _row_errors(exc)
            if row_errors:
                form.add_error("file", getattr(exc, "message", None) or str(exc))
            else:
                show_on_form(form, exc)
    uploads = bulk_issuances_visible_to(request.user).filter(program=program).order_by("-pk")[:20]
    context = {"program": program, "form": form, "row_errors": row_errors, "uploads": uploads}
    return render(request, "portal/manage_bulk.html", context, status=400 if form.errors else 200)


def _bulk(request: HttpRequest, pk: int, bulk_id: int) -> tuple[Any, Any]:
    program = managed_program(request, pk)
    return program, get_object_or_404(bulk_issuances_visible_to(request.user).filter(program=program), pk=bulk_id)


def _progress_context(program: Any, bulk: Any) -> dict[str, Any]:
    progress = bulk_issuance_progress(bulk)
    done = bulk.status in DONE
    percent = 100 if not bulk.total_rows else progress["processed_rows"] * 100 // bulk.total_rows
    return {
        "program": program,
        "bulk": bulk,
        "progress": progress,
        "percent": percent,
        "done": done,
        "row_errors": bulk_issuance_row_errors(bulk) if done else [],
        "rejected": len(bulk.rejected_rows),
    }


@login_required
@require_GET
def bulk_status(request: HttpRequest, pk: int, bulk_id: int) -> HttpResponse:
    program, bulk = _bulk(request, pk, bulk_id)
    return render(request, "portal/manage_bulk_status.html", _progress_context(program, bulk))


@login_required
@require_GET
def bulk_progress(request: HttpRequest, pk: int, bulk_id: int) -> HttpResponse:
    """The partial htmx polls every second while the run goes on; once done it stops asking (no trigger left)."""
    program, bulk = _bulk(request, pk, bulk_id)
    return render(request, "portal/_bulk_progress.html", _progress_context(program, bulk))


# --- Vouchers and revocation ------------------------------------------------------------------------------------


@login_required
@require_GET
def vouchers(request: HttpRequest, pk: int) -> HttpResponse:
    program = managed_program(request, pk)
    search = request.GET.get("q", "").strip()
    listed = vouchers_visible_to(request.user).filter(program=program).order_by("-issued_at", "-pk")
    if search:
        listed = listed.filter(Q(serial__icontains=search) | Q(entity__name__icontains=search) | Q(entity__uscc=search))
    rows = [{"voucher": v, "balance": fen_to_yuan(voucher_balance(v)["balance"])} for v in listed[:200]]
    return render(request, "portal/manage_vouchers.html", {"program": program, "rows": rows, "q": search})


@login_required
@require_http_methods(["GET", "POST"])
def voucher_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    require_program_admin(request)
    voucher = get_object_or_404(
        vouchers_visible_to(request.user).filter(program__in=programs_managed_by(request.user).values("pk")), pk=pk
    )
    form = RevokeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():

        def operation() -> str:
            voucher_services.voucher_revoke(actor=request.user, voucher=voucher, reason=form.cleaned_data["reason"])
            messages.success(request, _("Voucher %(serial)s was revoked.") % {"serial": voucher.serial})
            return reverse("portal:manage-vouchers", args=[voucher.program_id])

        sent = _send(request, form, operation)
        if sent is not None:
            return sent
    balance = voucher_balance(voucher)
    context = {
        "voucher": voucher,
        "form": form,
        "balance": fen_to_yuan(balance["balance"]),
        "held": fen_to_yuan(balance["held"]),
        "face_value": fen_to_yuan(voucher.face_value),
    }
    return render(request, "portal/manage_voucher.html", context, status=400 if form.errors else 200)


# --- One-time awards --------------------------------------------------------------------------------------------


def _award_program(request: HttpRequest, pk: int) -> Any:
    """Program administrators and reviewers of the issuing agency see its awards; others: 404."""
    if not roles_of(request.user) & {Role.PROGRAM_ADMIN.value, Role.REVIEWER.value}:
        raise Http404
    program = get_object_or_404(programs_visible_to(request.user), pk=pk)
    if not user_has_role(request.user, program.issuing_agency, [Role.PROGRAM_ADMIN, *GRANT_AWARDS]):
        raise Http404
    return program


def _award_form(request: HttpRequest, program: Any) -> AwardForm:
    version = program_current_version(program)
    rules = version.parsed() if version is not None else None
    fixed = rules.fixed_awards if rules is not None else ()
    awards = [(award.condition.code, award.condition.description or award.condition.code) for award in fixed]
    entities = organizations_visible_to(request.user).filter(kind=OrganizationKind.ENTITY).order_by("name")
    choices = [(e.pk, f"{e.name} ({e.uscc})" if e.uscc else e.name) for e in entities[:500]]
    return AwardForm(request.POST or None, entities=choices, awards=awards)


@login_required
@require_http_methods(["GET", "POST"])
def awards(request: HttpRequest, pk: int) -> HttpResponse:
    program = _award_program(request, pk)
    may_grant = user_has_role(request.user, program.issuing_agency, GRANT_AWARDS)
    form = _award_form(request, program) if may_grant and program_current_version(program) else None
    if request.method == "POST":
        if form is None:
            raise Http404
        if form.is_valid():
            data = form.cleaned_data

            def operation() -> str:
                entity = organizations_visible_to(request.user).get(pk=data["entity"])
                voucher_services.award_grant(
                    actor=request.user, program=program, entity=entity, award_code=data["award_code"], memo=data["memo"]
                )
                messages.success(request, _("The award was granted; its voucher is being issued."))
                return reverse("portal:manage-awards", args=[program.pk])

            sent = _send(request, form, operation)
            if sent is not None:
                return sent
    granted = issuances_visible_to(request.user).filter(program=program, kind=IssuanceKind.AWARD).order_by("-pk")
    rows = [{"issuance": i, "amount": fen_to_yuan(i.amount)} for i in granted[:200]]
    context = {"program": program, "form": form, "rows": rows, "may_grant": may_grant}
    status = 400 if form is not None and form.errors else 200
    return render(request, "portal/manage_awards.html", context, status=status)
