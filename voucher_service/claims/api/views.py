"""Claims API views: thin, they parse input, call services and render results."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.http import FileResponse
from django.urls import reverse
from django.utils.translation import gettext
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, mixins, permissions, renderers, status, viewsets
from rest_framework.decorators import action
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle

from accounts.models import Organization, OrganizationKind
from accounts.selectors import organizations_visible_to, user_memberships
from voucher_service.api.idempotency import IDEMPOTENCY_PARAMETER, idempotent
from voucher_service.api.schema import ErrorSerializer
from voucher_service.api.second_factor import OTP_PARAMETER, require_second_factor
from voucher_service.claims import selectors, services
from voucher_service.claims.api import serializers as s
from voucher_service.claims.models import Claim, Clawback, Objection, PlatformOrder
from voucher_service.claims.permissions import CLAW_BACK, require_program_role
from voucher_service.programs.models import ProviderListing
from voucher_service.programs.selectors import programs_visible_to
from voucher_service.vouchers.selectors import vouchers_visible_to

PAYOUT_FORBIDDEN = OpenApiResponse(
    response=ErrorSerializer,
    description=(
        "The caller may not record this payout: permission_denied or separation_of_duties; or, where finance "
        "must give a second factor, second_factor_required (the session has not given its code, or a token "
        "request has no X-OTP-Code or its user no authenticator) or second_factor_invalid (a wrong, used or "
        "throttled code)."
    ),
)


def _own_entities(user: Any) -> QuerySet[Organization]:
    ids = user_memberships(user).filter(organization__kind=OrganizationKind.ENTITY).values_list("organization_id")
    return organizations_visible_to(user).filter(pk__in=ids)


def _providers() -> QuerySet[Organization]:
    """Any registered provider or platform may be named (the registry is public to entities)."""
    return Organization.objects.filter(pk__in=ProviderListing.objects.values("organization_id"))


def _write_querysets(user: Any, *, creating: bool) -> dict[str, QuerySet]:
    querysets: dict[str, QuerySet] = {"provider": _providers(), "vouchers": vouchers_visible_to(user)}
    if creating:
        querysets |= {"program": programs_visible_to(user), "entity": _own_entities(user)}
    return querysets


DOWNLOAD_MEDIA_TYPE = "application/octet-stream"


class JsonErrorsNegotiation(BaseContentNegotiation):
    """For a download: the file is the answer whatever the client accepts, and any error is the API's JSON."""

    def select_parser(self, request: Request, parsers: Any) -> Any:
        return parsers[0]

    def select_renderer(self, request: Request, renderers: Any, format_suffix: Any = None) -> Any:
        return renderers[0], renderers[0].media_type


# Actions whose claim goes only to a service that locks and re-reads it: found without its related rows.
LOCKING_ACTIONS = frozenset({"decide"})


class ClaimViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """兑付: an entity claims the subsidy on its vouchers; the program's agencies review, notice and pay it."""

    serializer_class = s.ClaimSerializer
    queryset = Claim.objects.none()
    filterset_fields = ["program", "entity", "status", "fiscal_year"]
    lookup_value_regex = r"\d+"
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self) -> QuerySet[Claim]:
        if self.action in LOCKING_ACTIONS:
            # The claim found here only tells the service which one (it locks and reads it again), so its
            # related rows would be read for nothing: the response reads them afresh (``_detail``).
            return selectors.claims_visible_to(self.request.user)
        return self._serialized_queryset()

    def _serialized_queryset(self) -> QuerySet[Claim]:
        return (
            selectors.claims_visible_to(self.request.user)
            .select_related("payout")
            .prefetch_related("invoices", "payments", "decisions__decided_by", "evidence", "clawbacks")
        )

    def _accepted(self, claim: Claim, request: Request) -> Response:
        url = request.build_absolute_uri(reverse("claim-detail", args=[claim.pk]))
        body = {"claim": s.ClaimSerializer(self._serialized_queryset().get(pk=claim.pk)).data, "status_url": url}
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": url})

    def _detail(self, claim: Claim, code: int = status.HTTP_200_OK) -> Response:
        return Response(s.ClaimSerializer(self._serialized_queryset().get(pk=claim.pk)).data, status=code)

    @extend_schema(
        request=s.ClaimCreateSerializer, responses={201: s.ClaimSerializer}, parameters=[IDEMPOTENCY_PARAMETER]
    )
    @idempotent
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = s.ClaimCreateSerializer(data=request.data, querysets=_write_querysets(request.user, creating=True))
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        claim = services.claim_create(
            actor=request.user, entity=values.pop("entity"), program=values.pop("program"), data=values
        )
        return self._detail(claim, status.HTTP_201_CREATED)

    @extend_schema(request=s.ClaimUpdateSerializer, responses=s.ClaimSerializer)
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        claim = self.get_object()
        data = s.ClaimUpdateSerializer(
            data=request.data, partial=True, querysets=_write_querysets(request.user, creating=False)
        )
        data.is_valid(raise_exception=True)
        return self._detail(services.claim_update(actor=request.user, claim=claim, data=data.validated_data))

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:  # PUT is not offered
        raise exceptions.MethodNotAllowed("PUT")

    @extend_schema(request=None, responses={202: s.AcceptedClaimSerializer}, parameters=[IDEMPOTENCY_PARAMETER])
    @action(detail=True, methods=["post"])
    @idempotent
    def submit(self, request: Request, pk: str | None = None) -> Response:
        return self._accepted(services.claim_submit(actor=request.user, claim=self.get_object()), request)

    @extend_schema(request=s.ReasonInput, responses=s.ClaimSerializer, parameters=[IDEMPOTENCY_PARAMETER])
    @action(detail=True, methods=["post"])
    @idempotent
    def withdraw(self, request: Request, pk: str | None = None) -> Response:
        claim = self.get_object()
        data = s.ReasonInput(data=request.data)
        data.is_valid(raise_exception=True)
        return self._detail(services.claim_withdraw(actor=request.user, claim=claim, **data.validated_data))

    @extend_schema(request=s.DecideSerializer, responses=s.ClaimSerializer, parameters=[IDEMPOTENCY_PARAMETER])
    @action(detail=True, methods=["post"])
    @idempotent
    def decide(self, request: Request, pk: str | None = None) -> Response:
        claim = self.get_object()
        data = s.DecideSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._detail(services.claim_decide(actor=request.user, claim=claim, **data.validated_data))

    @extend_schema(
        request=s.PayoutInput,
        responses={202: s.AcceptedClaimSerializer, 403: PAYOUT_FORBIDDEN},
        parameters=[IDEMPOTENCY_PARAMETER, OTP_PARAMETER],
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def payout(self, request: Request, pk: str | None = None) -> Response:
        claim = self.get_object()
        data = s.PayoutInput(data=request.data)
        data.is_valid(raise_exception=True)
        require_second_factor(request)
        services.payout_request(actor=request.user, claim=claim, **data.validated_data)
        return self._accepted(claim, request)

    @extend_schema(request=s.ClawbackInput, responses={201: s.ClawbackSerializer}, parameters=[IDEMPOTENCY_PARAMETER])
    @action(detail=True, methods=["post"])
    @idempotent
    def clawback(self, request: Request, pk: str | None = None) -> Response:
        claim = self.get_object()
        data = s.ClawbackInput(data=request.data)
        data.is_valid(raise_exception=True)
        clawback = services.clawback_record(actor=request.user, claim=claim, **data.validated_data)
        return Response(s.ClawbackSerializer(clawback).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.RecoveryInput, responses={201: s.ClawbackSerializer}, parameters=[IDEMPOTENCY_PARAMETER])
    @action(detail=True, methods=["post"])
    @idempotent
    def recover(self, request: Request, pk: str | None = None) -> Response:
        """Record money the entity paid back on one of the claim's clawbacks."""
        claim = self.get_object()
        data = s.RecoveryInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        clawback = Clawback.objects.filter(claim=claim, pk=values.pop("clawback")).first()
        if clawback is None:
            require_program_role(request.user, claim.program, CLAW_BACK, gettext("Only finance may do this."))
            raise exceptions.ValidationError({"clawback": [gettext("This claim has no such clawback.")]})
        services.clawback_recover(actor=request.user, clawback=clawback, **values)
        clawback.refresh_from_db()
        return Response(s.ClawbackSerializer(clawback).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=s.HistorySerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None)
    def history(self, request: Request, pk: str | None = None) -> Response:
        claim = self.get_object()
        rows = [
            {
                "occurred_at": event.occurred_at,
                "actor": event.actor.username if event.actor else None,
                "action": event.action,
                "before": event.before,
                "after": event.after,
                "detail": event.detail,
            }
            for event in selectors.claim_history(claim)
        ]
        return Response(s.HistorySerializer(rows, many=True).data)

    @extend_schema(methods=["GET"], operation_id="claim_evidence_list", responses=s.EvidenceSerializer(many=True))
    @extend_schema(
        methods=["POST"],
        operation_id="claim_evidence_upload",
        request={"multipart/form-data": s.EvidenceUploadSerializer},
        responses={201: s.EvidenceSerializer},
        parameters=[IDEMPOTENCY_PARAMETER],
    )
    @action(detail=True, methods=["get", "post"], parser_classes=[MultiPartParser], pagination_class=None)
    def evidence(self, request: Request, pk: str | None = None) -> Response:
        claim = self.get_object()
        if request.method == "GET":
            return Response(s.EvidenceSerializer(selectors.claim_evidence(claim), many=True).data)
        return self._upload(request, claim)

    @idempotent
    def _upload(self, request: Request, claim: Claim) -> Response:
        data = s.EvidenceUploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        evidence = services.evidence_upload(
            actor=request.user, claim=claim, kind=data.validated_data["kind"], upload=data.validated_data["file"]
        )
        return Response(s.EvidenceSerializer(evidence).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="claim_evidence_download",
        responses={
            (200, DOWNLOAD_MEDIA_TYPE): OpenApiResponse(
                OpenApiTypes.BINARY,
                description="The file, as an attachment (its type is in the evidence list: content_type).",
            )
        },
    )
    @action(
        detail=True,
        methods=["get"],
        url_path=r"evidence/(?P<eid>\d+)",
        renderer_classes=[renderers.JSONRenderer],
        content_negotiation_class=JsonErrorsNegotiation,
    )
    def evidence_file(self, request: Request, pk: str | None = None, eid: str | None = None) -> Any:
        claim = self.get_object()
        evidence = selectors.claim_evidence(claim).filter(pk=int(eid or 0)).first()
        if evidence is None:
            raise exceptions.NotFound()
        # Always an attachment of a neutral type: a file is never rendered by the browser that fetched it.
        response = FileResponse(evidence.file.open("rb"), content_type=DOWNLOAD_MEDIA_TYPE)
        response["Content-Disposition"] = f'attachment; filename="{evidence.pk}{_extension(evidence.content_type)}"'
        response["X-Content-Type-Options"] = "nosniff"
        return response


def _extension(content_type: str) -> str:
    return {"application/pdf": ".pdf", "application/ofd": ".ofd", "image/jpeg": ".jpg", "image/png": ".png"}[
        content_type
    ]


class PublicNoticeViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """公示: the claims under public notice, for anyone; anyone may object (异议) to one."""

    serializer_class = s.PublicNoticeSerializer
    queryset = Claim.objects.none()
    permission_classes = [permissions.AllowAny]
    authentication_classes: list = []
    throttle_scope = "public_notices"
    throttle_classes = [ScopedRateThrottle]
    lookup_value_regex = r"\d+"

    def get_queryset(self) -> QuerySet[Claim]:
        return selectors.claims_under_notice()

    def get_throttles(self) -> list:
        if getattr(self, "action", None) == "objections":
            self.throttle_scope = "objection"
        return super().get_throttles()

    @extend_schema(request=s.ObjectionInput, responses={201: s.ObjectionFiledSerializer})
    @action(detail=True, methods=["post"])
    def objections(self, request: Request, pk: str | None = None) -> Response:
        claim = self.get_object()
        data = s.ObjectionInput(data=request.data)
        data.is_valid(raise_exception=True)
        objection = services.objection_file(claim=claim, **data.validated_data)
        return Response(s.ObjectionFiledSerializer(objection).data, status=status.HTTP_201_CREATED)


class ObjectionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Objections to the claims the caller may see; a reviewer of the program resolves them."""

    serializer_class = s.ObjectionSerializer
    queryset = Objection.objects.none()
    filterset_fields = ["claim", "status"]
    lookup_value_regex = r"\d+"

    def get_queryset(self) -> QuerySet[Objection]:
        return selectors.objections_visible_to(self.request.user)

    @extend_schema(request=s.ResolveInput, responses=s.ObjectionSerializer, parameters=[IDEMPOTENCY_PARAMETER])
    @action(detail=True, methods=["post"])
    @idempotent
    def resolve(self, request: Request, pk: str | None = None) -> Response:
        objection = self.get_object()
        data = s.ResolveInput(data=request.data)
        data.is_valid(raise_exception=True)
        resolved = services.objection_resolve(actor=request.user, objection=objection, **data.validated_data)
        return Response(s.ObjectionSerializer(resolved).data)


class PlatformOrderViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    """A designated platform records its orders (idempotent by order number); claims cite them."""

    serializer_class = s.PlatformOrderSerializer
    queryset = PlatformOrder.objects.none()
    filterset_fields = ["platform", "order_number"]
    lookup_value_regex = r"\d+"

    def get_queryset(self) -> QuerySet[PlatformOrder]:
        return selectors.platform_orders_visible_to(self.request.user)

    @extend_schema(
        request=s.PlatformOrderInput,
        responses={201: s.PlatformOrderSerializer, 200: s.PlatformOrderSerializer},
        parameters=[IDEMPOTENCY_PARAMETER],
    )
    @idempotent
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        own = user_memberships(request.user).values_list("organization_id", flat=True)
        platforms = Organization.objects.filter(kind=OrganizationKind.PLATFORM, pk__in=own)
        data = s.PlatformOrderInput(
            data=request.data,
            querysets={"platform": platforms, "provider": _providers().filter(~Q(kind=OrganizationKind.PLATFORM))},
        )
        data.is_valid(raise_exception=True)
        order, created = services.platform_order_record(actor=request.user, **data.validated_data)
        body = s.PlatformOrderSerializer(order).data
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)
