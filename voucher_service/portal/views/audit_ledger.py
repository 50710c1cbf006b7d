"""The auditor's ledger pages: the chain head, verification runs (start one, follow it, their history), and spot
checks (抽查: draw a reproducible sample, draw it again with its seed, each claim's evidence bundle). The same
services and selectors as the reports API (``voucher_service.reports``)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ledger.history import chain_head_at
from ledger.selectors import unsealed_count, verification_runs
from voucher_service.claims.selectors import claims_of_programs
from voucher_service.portal.audit_query import auditing, program_in_scope
from voucher_service.portal.errors import SERVICE_ERRORS, show_on_form
from voucher_service.portal.forms import DateInput
from voucher_service.reports import selectors, services
from voucher_service.reports.api.spot_checks import ZIP
from voucher_service.reports.models import VerificationStatus
from voucher_service.reports.spot_checks import MAX_SAMPLE, evidence_bundle_read, spot_check_draw

RUNS_PER_PAGE = 20


def _checks(run: Any) -> dict[str, Any]:
    report = run.report if run is not None and isinstance(run.report, dict) else {}
    checks = report.get("checks")
    return checks if isinstance(checks, dict) else {}


@login_required
@require_GET
def ledger(request: HttpRequest) -> HttpResponse:
    """The chain head to pin, entries waiting to be sealed, the verification requests and the history of runs."""
    auditing(request)
    head = chain_head_at()
    runs = Paginator(verification_runs().select_related("request__requested_by"), RUNS_PER_PAGE)
    context = {
        "head": head,
        "pin": f"{head.height}:{head.head_hash}",
        "unsealed": unsealed_count(),
        "runs": runs.get_page(request.GET.get("page")),
        "requests": selectors.verification_requests()[:10],
    }
    return render(request, "portal/audit/ledger.html", context)


@login_required
@require_POST
def verify(request: HttpRequest) -> HttpResponse:
    auditing(request)
    verification = services.verification_request(actor=request.user)
    return redirect("portal:audit-verification", pk=verification.pk)


@login_required
@require_GET
def verification(request: HttpRequest, pk: int) -> HttpResponse:
    """One verification asked for: its status (polled with htmx until it ends), then the run's result."""
    auditing(request)
    asked = get_object_or_404(selectors.verification_requests(), pk=pk)
    context = {
        "asked": asked,
        "running": asked.status in (VerificationStatus.QUEUED, VerificationStatus.RUNNING),
        "checks": sorted(_checks(asked.run).items()),
    }
    template = "portal/audit/_verification_status.html" if request.htmx else "portal/audit/verification.html"  # type: ignore[attr-defined]
    return render(request, template, context)


# --- Spot checks ------------------------------------------------------------------------------------------------


class SpotCheckForm(forms.Form):
    """The shape of a draw; the draw itself (the population, the sample) is ``reports.spot_checks``'."""

    program = forms.TypedChoiceField(label=_("Program"), coerce=int)
    date_from = forms.DateField(label=_("Submitted from"), widget=DateInput)
    date_to = forms.DateField(label=_("Submitted until"), widget=DateInput)
    size = forms.IntegerField(label=_("Sample size"), min_value=1, max_value=MAX_SAMPLE, initial=10)
    seed = forms.RegexField(
        label=_("Seed"),
        regex=r"^[0-9A-Za-z_-]{1,64}$",
        required=False,
        help_text=_("Leave empty for a fresh random sample; give a recorded seed to draw the same sample again."),
    )
    as_of = forms.DateTimeField(
        label=_("Population as recorded at"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local", "step": "1"}),
        help_text=_("Empty: now."),
    )

    def __init__(self, *args: Any, programs: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["program"].choices = programs  # type: ignore[attr-defined]


def _programs(scope: Any) -> list[tuple[int, str]]:
    return [(p.pk, f"{p.code} · {p.name}") for p in scope.programs().order_by("code")]


@login_required
@require_http_methods(["GET", "POST"])
def spot_checks(request: HttpRequest) -> HttpResponse:
    scope = auditing(request)
    form = SpotCheckForm(request.POST or None, programs=_programs(scope))
    if request.method == "POST" and form.is_valid():
        values = dict(form.cleaned_data)
        program = program_in_scope(scope, values.pop("program"))
        values = {key: value for key, value in values.items() if value not in (None, "")}
        try:
            check = spot_check_draw(actor=request.user, program=program, **values)
        except SERVICE_ERRORS as exc:
            show_on_form(form, exc)
        else:
            return redirect("portal:audit-spot-check", pk=check.pk)
    draws = Paginator(selectors.spot_checks_of(scope), RUNS_PER_PAGE).get_page(request.GET.get("page"))
    status = 400 if form.is_bound and form.errors else 200
    return render(request, "portal/audit/spot_checks.html", {"form": form, "draws": draws}, status=status)


@login_required
@require_GET
def spot_check(request: HttpRequest, pk: int) -> HttpResponse:
    scope = auditing(request)
    check = get_object_or_404(selectors.spot_checks_of(scope), pk=pk)
    sampled = {claim.pk: claim for claim in claims_of_programs([check.program_id]).filter(pk__in=check.claim_ids)}
    redraw = {
        "program": check.program_id,
        "date_from": check.date_from.isoformat(),
        "date_to": check.date_to.isoformat(),
        "size": check.size,
        "seed": check.seed,
        "as_of": check.as_of.isoformat(),
    }
    context = {
        "check": check,
        "claims": [(pk, sampled.get(pk)) for pk in check.claim_ids],
        "redraw": redraw,
    }
    return render(request, "portal/audit/spot_check.html", context)


@login_required
@require_GET
def evidence_bundle(request: HttpRequest, claim_id: int) -> FileResponse:
    """A claim's evidence bundle (a zip with a manifest of SHA-256s); the read is audited."""
    scope = auditing(request)
    claim = claims_of_programs(scope.programs().values("pk")).select_related("entity").filter(pk=claim_id).first()
    if claim is None:
        raise Http404
    handle, _manifest = evidence_bundle_read(actor=request.user, claim=claim)
    return FileResponse(handle, as_attachment=True, filename=f"claim-{claim.pk}-evidence.zip", content_type=ZIP)
