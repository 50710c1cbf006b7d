"""Views for background exports, verification over HTTP, the chain head, and third-party auditors' grants."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import FileResponse
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import audit_firms
from ledger.history import chain_head_at
from ledger.models import VerificationRun
from ledger.selectors import unsealed_count, verification_runs
from voucher_service.api.schema import ErrorSerializer
from voucher_service.programs.selectors import programs_visible_to
from voucher_service.reports import selectors, services
from voucher_service.reports.api import serializers as s
from voucher_service.reports.api.views import FILE_RESPONSES, JSONL_RESPONSE, JsonAnswers
from voucher_service.reports.idioms import ReportError, ReportErrorCode
from voucher_service.reports.models import AuditorGrant, ExportJob, VerificationRequest
from voucher_service.reports.scope import report_scope
from voucher_service.reports.writers import CONTENT_TYPES


def _require_auditor(request: Request) -> None:
    if not report_scope(request.user).audits:
        raise ReportError(
            ReportErrorCode.PERMISSION_DENIED, _("Only auditors and staff read the ledger's verification.")
        )


class ExportJobViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Your background exports: progress (rows written of total rows), then a download link until it expires."""

    serializer_class = s.ExportJobSerializer
    queryset = ExportJob.objects.none()
    lookup_value_regex = r"\d+"
    filterset_fields = ["status", "report"]

    def get_queryset(self) -> QuerySet[ExportJob]:
        return selectors.export_jobs_of(self.request.user)

    @extend_schema(
        request=None,
        responses={
            **FILE_RESPONSES,
            **JSONL_RESPONSE,
            409: OpenApiResponse(ErrorSerializer, description="Not finished (or failed): nothing to download."),
            410: OpenApiResponse(ErrorSerializer, description="Expired: its file is gone; request it again."),
        },
    )
    @action(detail=True, methods=["get"], pagination_class=None)
    def download(self, request: Request, pk: str | None = None) -> FileResponse:
        """The file of a finished export (audited: who downloaded what, when)."""
        job = self.get_object()
        handle = services.export_job_download(actor=request.user, job=job)
        name = f"{job.report}-{job.pk}.{job.file_format}"
        return FileResponse(handle, as_attachment=True, filename=name, content_type=CONTENT_TYPES[job.file_format])


class VerificationViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    """Verify the whole ledger now (a Celery task: it seals, recomputes every balance, digest and link, checks
    the seals and the domain's explanations), and read each request's result."""

    serializer_class = s.VerificationRequestSerializer
    queryset = VerificationRequest.objects.none()
    lookup_value_regex = r"\d+"
    content_negotiation_class = JsonAnswers

    def get_queryset(self) -> QuerySet[VerificationRequest]:
        _require_auditor(self.request)
        return selectors.verification_requests()

    @extend_schema(request=None, responses={202: s.VerificationRequestSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        _require_auditor(request)
        verification = services.verification_request(actor=request.user)
        verification.refresh_from_db()
        body = s.VerificationRequestSerializer(verification, context={"request": request}).data
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": body["status_url"]})


class VerificationRunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The history of verification runs, newest first: the hourly ones and those asked for."""

    serializer_class = s.VerificationRunSerializer
    queryset = VerificationRun.objects.none()
    lookup_value_regex = r"\d+"

    def get_queryset(self) -> QuerySet[VerificationRun]:
        _require_auditor(self.request)
        return verification_runs().select_related("request__requested_by")


class ChainHeadView(APIView):
    """The chain head now (height and hash: the pin to keep), entries waiting to be sealed, the last run."""

    content_negotiation_class = JsonAnswers

    @extend_schema(operation_id="report_chain_head", responses=s.CurrentHeadSerializer)
    def get(self, request: Request) -> Response:
        _require_auditor(request)
        head = chain_head_at()
        last = verification_runs().select_related("request__requested_by").first()
        return Response(
            {
                "height": head.height,
                "hash": head.head_hash,
                "pin": f"{head.height}:{head.head_hash}",
                "unsealed": unsealed_count(),
                "last_verification": s.VerificationRunSerializer(last).data if last is not None else None,
            }
        )


class AuditorGrantViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    """Read access for a third-party auditor (an auditor of an audit firm) to named programs until a date,
    granted by a program administrator of each program's agency; it ends by itself."""

    serializer_class = s.AuditorGrantSerializer
    queryset = AuditorGrant.objects.none()
    lookup_value_regex = r"\d+"

    def get_queryset(self) -> QuerySet[AuditorGrant]:
        return selectors.grants_visible_to(self.request.user)

    @extend_schema(request=s.AuditorGrantCreateSerializer, responses={201: s.AuditorGrantSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = s.AuditorGrantCreateSerializer(
            data=request.data,
            querysets={"audit_firm": audit_firms(), "programs": programs_visible_to(request.user)},
        )
        data.is_valid(raise_exception=True)
        grant = services.grant_create(actor=request.user, **data.validated_data)
        return Response(s.AuditorGrantSerializer(grant).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=s.AuditorGrantSerializer)
    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, pk: str | None = None) -> Response:
        grant = services.grant_revoke(actor=request.user, grant=self.get_object())
        return Response(s.AuditorGrantSerializer(grant).data)
