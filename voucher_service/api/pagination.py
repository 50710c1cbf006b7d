"""Pagination for every list: ``?limit=`` (1 to ``MAX_PAGE_SIZE``, default ``PAGE_SIZE``) and ``?offset=`` (0 or more).
Both bounds are settings (``API_MAX_PAGE_SIZE``, ``API_PAGE_SIZE``), read when Django starts.

DRF's own class quietly replaces a value it cannot read with the default, and passes a limit it can read (such
as 9223372036854775808) on to the database, which overflows: a 500. Here either parameter is a plain decimal
number in its range or the request is a 400 naming the parameter, as the schema says.
"""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework import exceptions, pagination
from rest_framework.request import Request

MAX_PAGE_SIZE: int = settings.API_MAX_PAGE_SIZE
_DIGITS = re.compile(r"[0-9]{1,18}")


def _parameter(request: Request, name: str, *, default: int, minimum: int, maximum: int | None, message: str) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    value = int(raw) if _DIGITS.fullmatch(raw) else None
    if value is None or value < minimum or (maximum is not None and value > maximum):
        raise exceptions.ValidationError({name: [exceptions.ErrorDetail(message, code="invalid")]})
    return value


class LimitOffsetPagination(pagination.LimitOffsetPagination):
    max_limit = MAX_PAGE_SIZE

    def get_limit(self, request: Request) -> int:
        return _parameter(
            request,
            self.limit_query_param,
            default=self.default_limit or MAX_PAGE_SIZE,
            minimum=1,
            maximum=self.max_limit,
            message=_("The page size (limit) is a whole number from 1 to %(max)d.") % {"max": self.max_limit},
        )

    def get_offset(self, request: Request) -> int:
        return _parameter(
            request,
            self.offset_query_param,
            default=0,
            minimum=0,
            maximum=None,
            message=_("The offset is a whole number, 0 or more."),
        )

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        limit, offset = super().get_schema_operation_parameters(view)
        limit["schema"] = {"type": "integer", "minimum": 1, "maximum": self.max_limit, "default": self.default_limit}
        limit["description"] = f"Number of results per page, 1 to {self.max_limit} (default {self.default_limit})."
        offset["schema"] = {"type": "integer", "minimum": 0, "maximum": 10**18 - 1, "default": 0}
        offset["description"] = "How many results to skip (0 or more)."
        return [limit, offset]
