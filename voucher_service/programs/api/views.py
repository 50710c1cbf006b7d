"""Programs and providers API views: thin, they validate shapes and call services and selectors."""

from __future__ import annotations

import django_filters
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from voucher_service.programs import providers, selectors, services
from voucher_service.programs.api import serializers as s
from voucher_service.programs.errors import ProgramError, ProgramErrorCode
from voucher_service.programs.models import Program, ProgramStatus, ProviderListing

WRITE_METHODS = ["get", "post", "patch", "head", "options"]


class ProgramFilter(django_filters.FilterSet):
    """``?status=`` filters on the status as it is today (see ``Program.status_on``), as the answers show it."""

    status = django_filters.ChoiceFilter(choices=ProgramStatus.choices, method="filter_status")

    class Meta:
        model = Program
        fields = ["status", "jurisdiction", "issuing_agency"]

    def filter_status(self, queryset: QuerySet[Program], name: str, value: str) -> QuerySet[Program]:
        return queryset.filter(selectors.program_status_q(value, timezone.localdate()))


class ProgramViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Voucher programs. Changes are for program administrators of the issuing agency; a rules change is a
    new version. Agencies see their own programs and those in their jurisdiction; others see published ones."""

    serializer_class = s.ProgramSerializer
    filterset_class = ProgramFilter
    http_method_names = WRITE_METHODS
    queryset = Program.objects.none()  # narrowed per request below; set for the schema generator

    def get_queryset(self):
        return selectors.programs_visible_to(self.request.user)

    def _respond(self, program: Program, code: int = status.HTTP_200_OK) -> Response:
        program = selectors.programs_visible_to(self.request.user).get(pk=program.pk)
        return Response(s.ProgramSerializer(program).data, status=code)

    @extend_schema(request=s.ProgramCreateSerializer, responses={201: s.ProgramSerializer})
    def create(self, request: Request, *args, **kwargs) -> Response:
        data = s.ProgramCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        program = services.program_create(actor=request.user, **data.validated_data)
        return self._respond(program, status.HTTP_201_CREATED)

    @extend_schema(request=s.ProgramUpdateSerializer, responses=s.ProgramSerializer)
    def partial_update(self, request: Request, *args, **kwargs) -> Response:
        program = self.get_object()  # 404 outside the caller's scope
        data = s.ProgramUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        program = services.program_update(actor=request.user, program=program, **data.validated_data)
        return self._respond(program)

    @extend_schema(request=None, responses=s.ProgramSerializer)
    @action(detail=True, methods=["post"])
    def publish(self, request: Request, pk: str | None = None) -> Response:
        """Put a draft in force (its newest version is published), or resume a suspended program."""
        program = services.program_publish(actor=request.user, program=self.get_object())
        return self._respond(program)

    @extend_schema(request=s.SuspendSerializer, responses=s.ProgramSerializer)
    @action(detail=True, methods=["post"])
    def suspend(self, request: Request, pk: str | None = None) -> Response:
        program = self.get_object()
        data = s.SuspendSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        program = services.program_suspend(actor=request.user, program=program, **data.validated_data)
        return self._respond(program)

    @extend_schema(request=s.ExtendSerializer, responses=s.ProgramSerializer)
    @action(detail=True, methods=["post"])
    def extend(self, request: Request, pk: str | None = None) -> Response:
        """Move the end date later, recording the reason and the legal reference."""
        program = self.get_object()
        data = s.ExtendSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.program_extend(actor=request.user, program=program, **data.validated_data)
        return self._respond(program)

    @extend_schema(request=None, responses=s.VersionDetailSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None, filterset_class=None)
    def versions(self, request: Request, pk: str | None = None) -> Response:
        """Every version of the rules, oldest first: what each claim was evaluated under stays readable."""
        versions = self.get_object().versions.order_by("number")
        return Response(s.VersionDetailSerializer(versions, many=True).data)

    @extend_schema(request=None, responses=s.BudgetSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None, filterset_class=None)
    def budgets(self, request: Request, pk: str | None = None) -> Response:
        """Each opened fiscal year with its cap, issued, held, spent, returned, lapsed and remaining amounts,
        read from the ledger (yuan strings). For staff and members of the agencies concerned (issuing,
        responsible, or with a jurisdiction covering the program's); others who can see the program get 403."""
        program = self.get_object()  # 404 outside the caller's scope
        if not selectors.user_can_read_budgets(request.user, program):
            raise ProgramError(
                ProgramErrorCode.PERMISSION_DENIED, _("Only the agencies concerned and staff may read the budgets.")
            )
        figures = selectors.program_budget_figures(program)
        return Response(s.BudgetSerializer(figures, many=True).data)


class ProviderViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """The compute-provider registry. Listed providers are public to every user; staff and program
    administrators of an agency covering the provider's jurisdiction list, edit and change their status."""

    serializer_class = s.ProviderSerializer
    filterset_fields = ["status", "jurisdiction"]
    http_method_names = WRITE_METHODS
    queryset = ProviderListing.objects.none()  # narrowed per request below; set for the schema generator

    def get_queryset(self):
        return selectors.providers_visible_to(self.request.user)

    def _respond(self, listing: ProviderListing, code: int = status.HTTP_200_OK) -> Response:
        listing = selectors.providers_visible_to(self.request.user).get(pk=listing.pk)
        return Response(s.ProviderSerializer(listing).data, status=code)

    def _scoped(self) -> dict:
        """The organisations a caller may name: others answer "does not exist", like ids that do not."""
        return {"platforms": selectors.platforms_visible_to(self.request.user)}

    @extend_schema(request=s.ProviderCreateSerializer, responses={201: s.ProviderSerializer})
    def create(self, request: Request, *args, **kwargs) -> Response:
        # The organisation's and platforms' choices are those the caller can see: another jurisdiction's provider
        # is "no such organisation", exactly like an id that does not exist.
        querysets = self._scoped() | {"organization": selectors.listable_organizations_visible_to(request.user)}
        data = s.ProviderCreateSerializer(data=request.data, querysets=querysets)
        data.is_valid(raise_exception=True)
        listing = providers.provider_register(actor=request.user, **data.validated_data)
        return self._respond(listing, status.HTTP_201_CREATED)

    @extend_schema(request=s.ProviderUpdateSerializer, responses=s.ProviderSerializer)
    def partial_update(self, request: Request, *args, **kwargs) -> Response:
        listing = self.get_object()
        data = s.ProviderUpdateSerializer(data=request.data, partial=True, querysets=self._scoped())
        data.is_valid(raise_exception=True)
        listing = providers.provider_update(actor=request.user, listing=listing, **data.validated_data)
        return self._respond(listing)

    @extend_schema(request=s.ProviderStatusSerializer, responses=s.ProviderSerializer)
    @action(detail=True, methods=["post"], url_path="status")
    def set_status(self, request: Request, pk: str | None = None) -> Response:
        """Suspend, delist or re-list a provider, with a reason kept in its status history."""
        listing = self.get_object()
        data = s.ProviderStatusSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        listing = providers.provider_set_status(actor=request.user, listing=listing, **data.validated_data)
        return self._respond(listing)
