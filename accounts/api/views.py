"""Accounts API views: thin, they validate input and call services and selectors."""

from __future__ import annotations

from typing import cast

from django.contrib.auth import authenticate
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, mixins, permissions, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from accounts import services, tokens
from accounts.api import serializers as s
from accounts.models import ApiToken, Jurisdiction, Organization
from accounts.selectors import organizations_visible_to, user_memberships


class TokenView(APIView):
    """Exchange a username and password for an API token, or revoke the token you are using."""

    throttle_scope = "auth"
    throttle_classes = [ScopedRateThrottle]

    def get_permissions(self):
        if self.request.method == "POST":
            return [permissions.AllowAny()]
        return [permissions.IsAuthenticated()]

    # auth=[]: logging in needs no token (the schema says so, and generated clients call it unauthenticated).
    @extend_schema(
        operation_id="auth_login", auth=[], request=s.TokenCreateSerializer, responses={201: s.TokenCreatedSerializer}
    )
    def post(self, request: Request) -> Response:
        data = s.TokenCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        # The Django request, not DRF's wrapper: the login lockout (django-axes) marks it, and its middleware then
        # answers with the lockout (429) instead of this view's 401.
        user = authenticate(
            request._request, username=data.validated_data["username"], password=data.validated_data["password"]
        )
        if user is None:
            raise exceptions.AuthenticationFailed(_("Wrong username or password."))
        token, raw = tokens.token_issue(actor=user, user=user, name=data.validated_data.get("name", ""))
        body = s.TokenSerializer(token).data | {"token": raw}
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(operation_id="auth_logout", request=None, responses={204: None})
    def delete(self, request: Request) -> Response:
        if not isinstance(request.auth, ApiToken):
            raise exceptions.ValidationError(
                {"non_field_errors": [_("Authenticate with the token you want to revoke.")]}
            )
        tokens.token_revoke(actor=request.user, token=request.auth)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MyTokensViewSet(mixins.ListModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet):
    """Your own API tokens. DELETE revokes one (the row stays, for the audit trail)."""

    serializer_class = s.TokenSerializer
    queryset = ApiToken.objects.none()  # narrowed per request below; set for the schema generator

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ApiToken.objects.none()
        return ApiToken.objects.filter(user_id=cast(int, self.request.user.pk))

    def perform_destroy(self, instance: ApiToken) -> None:
        tokens.token_revoke(actor=self.request.user, token=instance)


class MeView(APIView):
    @extend_schema(operation_id="me_get", responses=s.MeSerializer)
    def get(self, request: Request) -> Response:
        user = request.user
        body = s.MeSerializer(user).data
        body["memberships"] = s.MembershipSerializer(user_memberships(user), many=True).data
        return Response(body)


class JurisdictionViewSet(viewsets.ReadOnlyModelViewSet):
    """GB/T 2260 administrative divisions known to the service."""

    serializer_class = s.JurisdictionSerializer
    queryset = Jurisdiction.objects.all()
    filterset_fields = ["level", "parent", "admin_type"]
    pagination_class = None


class OrganizationWriteThrottle(ScopedRateThrottle):
    """Registrations and edits per user (scope ``organization_write``). A maker's personal ID is checked for
    duplicates nationwide, so the number of answers anyone can get per hour is bounded; reads are not counted."""

    scope_attr = "organization_write_scope"

    def allow_request(self, request: Request, view: APIView) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return True
        return super().allow_request(request, view)


class OrganizationViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Organisations you belong to and, for agency staff, those in your agency's jurisdiction."""

    serializer_class = s.OrganizationSerializer
    filterset_fields = ["kind", "category", "jurisdiction", "is_active"]
    http_method_names = ["get", "post", "patch", "head", "options"]
    throttle_classes = [OrganizationWriteThrottle]
    organization_write_scope = "organization_write"

    queryset = Organization.objects.none()  # narrowed per request below; set for the schema generator

    def get_queryset(self):
        return organizations_visible_to(self.request.user)

    @extend_schema(request=s.OrganizationWriteSerializer, responses={201: s.OrganizationSerializer})
    def create(self, request: Request, *args, **kwargs) -> Response:
        data = s.OrganizationWriteSerializer(
            data=request.data, querysets={"affiliates": organizations_visible_to(request.user)}
        )
        data.is_valid(raise_exception=True)
        organization = services.organization_create(actor=request.user, **data.validated_data)
        return Response(s.OrganizationSerializer(organization).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.OrganizationUpdateSerializer, responses=s.OrganizationSerializer)
    def partial_update(self, request: Request, *args, **kwargs) -> Response:
        organization = self.get_object()  # 404 outside the caller's scope
        data = s.OrganizationUpdateSerializer(
            data=request.data, partial=True, querysets={"affiliates": organizations_visible_to(request.user)}
        )
        data.is_valid(raise_exception=True)
        organization = services.organization_update(
            actor=request.user, organization=organization, **data.validated_data
        )
        return Response(s.OrganizationSerializer(organization).data)
