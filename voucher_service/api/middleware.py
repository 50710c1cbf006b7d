"""Refuse a NUL character in an API path or query string before any view reads it.

No field of this API takes one, and PostgreSQL cannot compare or store it: ``/api/v1/jurisdictions/%00/`` or
``?jurisdiction=%00`` reached the database as a text parameter and ended in a 500. JSON bodies are checked by
the parser (``voucher_service.api.parsers``), multipart fields by ``accounts.api.strict``.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse

from voucher_service.api.errors import error_body, is_api_path
from voucher_service.api.parsers import nul_refused


class RefuseNulCharacters:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if is_api_path(request) and _has_nul(request):
            body = error_body(400, "parse_error", nul_refused())
            return JsonResponse(body, status=400, json_dumps_params={"ensure_ascii": False})
        return self.get_response(request)


def _has_nul(request: HttpRequest) -> bool:
    if "\x00" in request.path_info:
        return True
    return any("\x00" in key or any("\x00" in value for value in values) for key, values in request.GET.lists())
