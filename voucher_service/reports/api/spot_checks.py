"""Spot checks (抽查): draw a reproducible sample of a program's claims, read the draws; and a claim's evidence
bundle (one zip with a manifest of SHA-256s). For auditors of the claim's program and staff (``scope.py``)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import FileResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.strict import StrictSerializer
from voucher_service.claims.selectors import claims_of_programs, claims_visible_to
from voucher_service.programs.models import Program
from voucher_service.reports import selectors
from voucher_service.reports.api.views import JsonAnswers
from voucher_service.reports.idioms import ReportError, ReportErrorCode
from voucher_service.reports.models import SpotCheck
from voucher_service.reports.scope import ReportScope, report_scope
from voucher_service.reports.spot_checks import MAX_SAMPLE, evidence_bundle_read, spot_check_draw

# The bundle is a zip (its name says so), sent as a neutral type, as the claims domain sends evidence files.
ZIP = "application/octet-stream"


class SpotCheckSerializer(serializers.ModelSerializer):
    drawn_by = serializers.CharField(source="drawn_by.username", read_only=True)

    class Meta:
        model = SpotCheck
        fields = [
            "id",
            "program",
            "date_from",
            "date_to",
            "as_of",
            "size",
            "seed",
            "population",
            "population_sha256",
            "claim_ids",
            "drawn_by",
            "drawn_at",
        ]
        read_only_fields = fields


class SpotCheckCreateSerializer(StrictSerializer):
    program = serializers.IntegerField(min_value=1)
    date_from = serializers.DateField()
    date_to = serializers.DateField()
    size = serializers.IntegerField(min_value=1, max_value=MAX_SAMPLE)
    seed = serializers.RegexField(
        r"^[0-9A-Za-z_-]{1,64}$",
        required=False,
        help_text="Draw again with a recorded seed to get the same sample; leave out for a fresh random one.",
    )
    as_of = serializers.DateTimeField(required=False, help_text="The population as recorded then (default: now).")


def _auditing(request: Request) -> ReportScope:
    scope = report_scope(request.user)
    if not scope.audits:
        raise ReportError(ReportErrorCode.PERMISSION_DENIED, _("Only auditors and staff draw spot checks."))
    return scope


class SpotCheckViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    """Spot checks of the programs you audit, newest first. POST draws one (audited): the seed is recorded, so
    the same request with the same seed draws the same claims."""

    serializer_class = SpotCheckSerializer
    queryset = SpotCheck.objects.none()
    lookup_value_regex = r"\d+"
    content_negotiation_class = JsonAnswers
    filterset_fields = ["program"]

    def get_queryset(self) -> QuerySet[SpotCheck]:
        scope = _auditing(self.request)
        return selectors.spot_checks_of(scope)

    @extend_schema(request=SpotCheckCreateSerializer, responses={201: SpotCheckSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        scope = _auditing(request)
        data = SpotCheckCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        program = Program.objects.filter(pk=values.pop("program")).first()
        if program is None or not scope.covers_program(program.pk):
            raise ReportError(ReportErrorCode.NOT_FOUND, _("Not found."))
        check = spot_check_draw(actor=request.user, program=program, **values)
        return Response(SpotCheckSerializer(check).data, status=status.HTTP_201_CREATED)


class EvidenceBundleView(APIView):
    """One claim's evidence bundle: a zip of its facts, decisions, evaluations, ledger entries (with digests and
    chain positions) and evidence files, with ``manifest.json`` giving each file's SHA-256. Every read is audited."""

    content_negotiation_class = JsonAnswers

    @extend_schema(
        operation_id="report_claim_evidence_bundle",
        responses={(200, ZIP): OpenApiResponse(OpenApiTypes.BINARY, description="The bundle (a zip).")},
    )
    def get(self, request: Request, claim_id: int) -> FileResponse:
        scope = report_scope(request.user)
        if not scope.audits:
            # Those who see the claim (its entity, the program's agencies) are refused; to anyone else it is absent.
            if claims_visible_to(request.user).filter(pk=claim_id).exists():
                raise ReportError(
                    ReportErrorCode.PERMISSION_DENIED, _("Only auditors and staff read evidence bundles.")
                )
            raise ReportError(ReportErrorCode.NOT_FOUND, _("Not found."))
        claim = claims_of_programs(scope.programs().values("pk")).select_related("entity").filter(pk=claim_id).first()
        if claim is None:
            raise ReportError(ReportErrorCode.NOT_FOUND, _("Not found."))
        handle, _manifest = evidence_bundle_read(actor=request.user, claim=claim)
        return FileResponse(handle, as_attachment=True, filename=f"claim-{claim.pk}-evidence.zip", content_type=ZIP)
