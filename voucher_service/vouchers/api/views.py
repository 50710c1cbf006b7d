"""Voucher API views: thin, they parse input, call services and render results."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import Serializer
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from accounts.models import OrganizationKind
from accounts.selectors import organizations_visible_to, user_memberships
from voucher_service.api.idempotency import IDEMPOTENCY_PARAMETER, idempotent
from voucher_service.programs.selectors import programs_visible_to
from voucher_service.vouchers import bulk, bulk_csv, selectors, services
from voucher_service.vouchers.api import serializers as s
from voucher_service.vouchers.errors import VoucherError, VoucherErrorCode
from voucher_service.vouchers.models import BulkIssuance, Issuance, Voucher, VoucherApplication
from voucher_service.vouchers.permissions import ISSUE_IN_BULK

T = TypeVar("T")


def _accepted(issuance: Issuance, request: Request) -> Response:
    body = s.AcceptedSerializer.build(issuance, request)
    return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": body["status_url"]})


def _own_entities(user: Any) -> QuerySet:
    ids = user_memberships(user).filter(organization__kind=OrganizationKind.ENTITY).values_list("organization_id")
    return organizations_visible_to(user).filter(pk__in=ids)


class VoucherApplicationViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    """申领: an entity applies for a voucher; the program's agency approves (then it is issued) or rejects."""

    serializer_class = s.ApplicationSerializer
    queryset = VoucherApplication.objects.none()
    filterset_fields = ["program", "entity", "status", "fiscal_year"]
    lookup_value_regex = r"\d+"

    def get_queryset(self) -> QuerySet[VoucherApplication]:
        visible = selectors.applications_visible_to(self.request.user)
        if self.action in ("approve", "reject"):
            # Only whether it is visible (``_decided``): the service locks and reads it with what its checks need.
            return visible.select_related(None).only("pk")
        return visible.select_related("issuance")

    def _decided(self, decide: Callable[[VoucherApplication], T]) -> T:
        """``decide(application)`` for the application of the URL, answering 404 to whoever may not see it.

        The service locks the application and checks that the actor may decide it: a reviewer of the program's
        agency, who therefore sees it. So the visibility read (the actor's memberships, then the application
        within them) is needed only when that check fails, to tell someone who sees the application (403) from
        someone who does not (404, as for an id that does not exist); a successful decision spares both
        statements. Nothing is written before the check, and the row lock it took ends with the refusal."""
        try:
            return decide(VoucherApplication(pk=int(self.kwargs["pk"])))
        except VoucherApplication.DoesNotExist:
            self.get_object()  # the 404 of any id this user cannot see
            raise
        except VoucherError as refused:
            if refused.code in (VoucherErrorCode.PERMISSION_DENIED, VoucherErrorCode.SEPARATION_OF_DUTIES):
                self.get_object()
            raise

    def _valid(self, serializer_class: type[Serializer]) -> dict[str, Any]:
        """The request body, validated; someone who cannot see the application hears 404, not what was wrong."""
        data = serializer_class(data=self.request.data)
        if not data.is_valid():
            self.get_object()
            raise exceptions.ValidationError(data.errors)
        return data.validated_data

    @extend_schema(
        request=s.ApplicationCreateSerializer,
        responses={201: s.ApplicationSerializer},
        parameters=[IDEMPOTENCY_PARAMETER],
    )
    @idempotent
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = s.ApplicationCreateSerializer(
            data=request.data,
            querysets={"program": programs_visible_to(request.user), "entity": _own_entities(request.user)},
        )
        data.is_valid(raise_exception=True)
        application = services.application_submit(actor=request.user, **data.validated_data)
        return Response(s.ApplicationSerializer(application).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=s.ApproveSerializer, responses={202: s.AcceptedSerializer}, parameters=[IDEMPOTENCY_PARAMETER]
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def approve(self, request: Request, pk: str | None = None) -> Response:
        amount = self._valid(s.ApproveSerializer).get("amount")
        issuance = self._decided(
            lambda application: services.application_approve(actor=request.user, application=application, amount=amount)
        )
        return _accepted(issuance, request)

    @extend_schema(request=s.ReasonSerializer, responses=s.ApplicationSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, pk: str | None = None) -> Response:
        reason = self._valid(s.ReasonSerializer)["reason"]
        application = self._decided(
            lambda application: services.application_reject(actor=request.user, application=application, reason=reason)
        )
        return Response(s.ApplicationSerializer(application).data)


class IssuanceViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The status of each issuance (the 202 answers point here), and direct one-time awards."""

    serializer_class = s.IssuanceSerializer
    queryset = Issuance.objects.none()
    filterset_fields = ["program", "entity", "status", "kind", "bulk"]
    lookup_value_regex = r"\d+"

    def get_queryset(self) -> QuerySet[Issuance]:
        return selectors.issuances_visible_to(self.request.user)

    @extend_schema(request=s.AwardSerializer, responses={202: s.AcceptedSerializer}, parameters=[IDEMPOTENCY_PARAMETER])
    @action(detail=False, methods=["post"])
    @idempotent
    def awards(self, request: Request) -> Response:
        data = s.AwardSerializer(
            data=request.data,
            querysets={"program": programs_visible_to(request.user), "entity": organizations_visible_to(request.user)},
        )
        data.is_valid(raise_exception=True)
        return _accepted(services.award_grant(actor=request.user, **data.validated_data), request)


# The multipart envelope around a file of at most bulk_csv.MAX_BYTES: the form fields and the part headers.
BULK_REQUEST_OVERHEAD = 64 * 1024


class BulkUploadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"
    default_detail = _("The file is too large.")


class MayUploadInBulk(permissions.BasePermission):
    """Before anything reads the body (the Idempotency-Key fingerprint hashes the upload; the parser spools it to
    disk): an upload needs a bulk-issuing role in some agency, and a declared size within the limit. The service
    then checks the role in the program's own agency."""

    message = _("Only a program administrator of the program's agency may issue in bulk.")

    def has_permission(self, request: Request, view: Any) -> bool:
        if request.method != "POST":
            return True
        allowed = user_memberships(request.user).filter(
            organization__kind=OrganizationKind.AGENCY, role__in=ISSUE_IN_BULK
        )
        if not allowed.exists():
            return False
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        if declared > bulk_csv.MAX_BYTES + BULK_REQUEST_OVERHEAD:
            raise BulkUploadTooLarge(bulk_csv.too_large_message())
        return True


class BulkIssuanceViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    """Upload a CSV (uscc, amount, memo) to issue many vouchers; watch its progress here."""

    serializer_class = s.BulkSerializer
    queryset = BulkIssuance.objects.none()
    parser_classes = [MultiPartParser]  # the one endpoint that takes a file
    permission_classes = [permissions.IsAuthenticated, MayUploadInBulk]
    lookup_value_regex = r"\d+"

    def get_queryset(self) -> QuerySet[BulkIssuance]:
        return selectors.bulk_issuances_visible_to(self.request.user)

    @extend_schema(
        request={"multipart/form-data": s.BulkCreateSerializer},
        responses={202: s.BulkSerializer},
        parameters=[IDEMPOTENCY_PARAMETER],
    )
    @idempotent
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = s.BulkCreateSerializer(data=request.data, querysets={"program": programs_visible_to(request.user)})
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        created = bulk.bulk_issuance_create(
            actor=request.user,
            program=data.validated_data["program"],
            content=upload.read(),
            file_name=upload.name or "",
            mode=data.validated_data["mode"],
            allow_duplicate_file=data.validated_data["allow_duplicate_file"],
        )
        created.refresh_from_db()
        body = s.BulkSerializer(created, context={"request": request}).data
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": body["status_url"]})


class VoucherViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = s.VoucherSerializer
    queryset = Voucher.objects.none()
    filterset_fields = ["program", "entity", "status", "fiscal_year"]
    lookup_value_regex = r"\d+"

    def get_queryset(self) -> QuerySet[Voucher]:
        return selectors.vouchers_visible_to(self.request.user)

    @extend_schema(request=s.ReasonSerializer, responses=s.VoucherSerializer, parameters=[IDEMPOTENCY_PARAMETER])
    @action(detail=True, methods=["post"])
    @idempotent
    def revoke(self, request: Request, pk: str | None = None) -> Response:
        voucher = self.get_object()
        data = s.ReasonSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        voucher = services.voucher_revoke(actor=request.user, voucher=voucher, reason=data.validated_data["reason"])
        voucher.account.refresh_from_db()
        return Response(s.VoucherSerializer(voucher).data)


class VoucherVerifyView(APIView):
    """Anyone holding a voucher's token can check that it is genuine and what is left on it."""

    permission_classes = [permissions.AllowAny]
    authentication_classes: list = []
    throttle_scope = "verify"
    throttle_classes = [ScopedRateThrottle]

    @extend_schema(operation_id="voucher_verify", responses=s.VoucherVerifySerializer)
    def get(self, request: Request, token: str) -> Response:
        voucher = selectors.voucher_by_token(token)
        if voucher is None:
            from rest_framework.exceptions import NotFound

            raise NotFound()
        return Response(s.VoucherVerifySerializer(voucher).data)
