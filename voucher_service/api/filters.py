"""The API's filter backend: query-parameter filters narrow lists, never the lookup of one object."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework.request import Request


class ListFilterBackend(DjangoFilterBackend):
    """``filterset_fields`` apply to list actions only, which is where the OpenAPI document lists them.

    DRF runs the filter backends in ``get_object`` too, so every detail request (``approve``, ``decide``, a
    retrieve) built a FilterSet class for the view's fields and bound it to the query string, about 1 ms of CPU
    per request on the benchmark machine, to find the one object its URL names. A filter on a detail URL was
    never documented: visibility is the view's ``get_queryset``, and that still applies to every lookup.
    """

    def filter_queryset(self, request: Request, queryset: QuerySet, view: Any) -> QuerySet:
        if getattr(view, "detail", False):
            return queryset
        return super().filter_queryset(request, queryset, view)
