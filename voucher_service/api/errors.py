"""One error format for the whole API.

Every error response has this shape::

    {"error": {"status": 400, "code": "invalid", "message": "…",
               "fields": {"uscc": [{"code": "invalid_checksum", "message": "…"}]}}}

``fields`` is present only for validation errors; nested errors are flattened to dotted paths
(``rows.3.amount``). Service-layer refusals of every package are ``core.errors.ServiceError``: the handler renders
``code``, ``code.http_status``, the message, ``fields`` and ``details``, and knows no domain. The API's own codes
(idempotency) are ``ApiErrorCode``, with their statuses, like every domain's.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.encoding import force_str
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.errors import ErrorCode, ServiceError

NON_FIELD = "non_field_errors"


class ApiErrorCode(ErrorCode):
    """Refusals of the API layer itself: ``Idempotency-Key`` (``voucher_service.api.idempotency``) and the
    finance second factor (``voucher_service.api.second_factor``)."""

    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused", 409
    IDEMPOTENCY_REQUEST_EXECUTED = "idempotency_request_executed", 409
    IDEMPOTENCY_REQUEST_IN_PROGRESS = "idempotency_request_in_progress", 409
    IDEMPOTENCY_REQUEST_SUPERSEDED = "idempotency_request_superseded", 409
    SECOND_FACTOR_REQUIRED = "second_factor_required", 403
    SECOND_FACTOR_INVALID = "second_factor_invalid", 403


class ApiError(ServiceError):
    code: ApiErrorCode


def _flatten(detail: Any, prefix: str = "") -> dict[str, list[dict[str, str]]]:
    """Turn DRF's nested ErrorDetail structures into {"a.b.0.c": [{"code", "message"}]}."""
    out: dict[str, list[dict[str, str]]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = NON_FIELD if key in {NON_FIELD, "__all__"} and not prefix else f"{prefix}{key}"
            for path, errors in _flatten(value, name + ".").items():
                out.setdefault(path, []).extend(errors)
        return out
    if isinstance(detail, list) and detail and all(isinstance(item, (dict, list)) for item in detail):
        for index, item in enumerate(detail):
            if item:
                for path, errors in _flatten(item, f"{prefix}{index}.").items():
                    out.setdefault(path, []).extend(errors)
        return out
    items = detail if isinstance(detail, list) else [detail]
    key = prefix.rstrip(".") or NON_FIELD
    out[key] = [{"code": getattr(item, "code", None) or "invalid", "message": force_str(item)} for item in items]
    return out


def error_body(
    http_status: int,
    code: str,
    message: str,
    fields: dict[str, list[dict[str, str]]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {"status": http_status, "code": code, "message": message}
    if fields:
        body["fields"] = fields
    body.update(extra)
    return {"error": body}


def _django_validation_to_drf(exc: DjangoValidationError) -> exceptions.ValidationError:
    if hasattr(exc, "error_dict"):
        detail: Any = {
            field: [exceptions.ErrorDetail(force_str(m), code=e.code or "invalid") for e in errs for m in e.messages]
            for field, errs in exc.error_dict.items()
        }
    else:
        detail = [exceptions.ErrorDetail(force_str(m), code=exc.code or "invalid") for m in exc.messages]
    return exceptions.ValidationError(detail)


class RequestTooLarge(exceptions.APIException):
    status_code = 413
    default_code = "request_too_large"
    default_detail = gettext_lazy("The request body is too large.")


def request_too_large() -> RequestTooLarge:
    """Django refused to read a body over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (JSON, or a form's non-file fields)."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return RequestTooLarge(_("The request body is larger than %(limit)d bytes.") % {"limit": limit})


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, RequestDataTooBig):
        exc = request_too_large()
    elif isinstance(exc, DjangoValidationError):
        exc = _django_validation_to_drf(exc)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    if isinstance(exc, ServiceError):
        # A typed refusal of any package (accounts, ledger, programs, vouchers, the API's own).
        return Response(
            error_body(exc.http_status, str(exc.code), force_str(exc.message), exc.fields, **exc.details),
            status=exc.http_status,
        )

    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a genuine bug: let Django turn it into a 500 and log it
    if isinstance(exc, exceptions.ValidationError):
        response.data = error_body(
            response.status_code, "invalid", _("The request is not valid."), _flatten(exc.detail)
        )
    elif isinstance(exc, exceptions.APIException):
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else "error"
        message = force_str(exc.detail) if not isinstance(exc.detail, (dict, list)) else force_str(exc.default_detail)
        response.data = error_body(response.status_code, code, message)
    return response


def api_error_response(code: ErrorCode, message: str, **details: Any) -> Response:
    """For the rare view that must answer an error without raising (for example an idempotency replay)."""
    return Response(error_body(code.http_status, str(code), message, **details), status=code.http_status)


# --- Errors raised outside any API view --------------------------------------------------------------------
# An unknown /api/ path never reaches DRF (the URL resolver fails first), and an exception that no handler above
# turns into a response ends in Django's handler500. urls.py installs these as Django's error handlers: under
# /api/ they answer in the format above, anywhere else (admin, the docs' static pages) with Django's own pages.
# The messages are DRF's, which already carry their translations.


def is_api_path(request: HttpRequest) -> bool:
    return request.path_info.startswith("/api/")


def _json_error(http_status: int, code: str, message: Any) -> JsonResponse:
    return JsonResponse(
        error_body(http_status, code, force_str(message)), status=http_status, json_dumps_params={"ensure_ascii": False}
    )


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler400: a disallowed Host header, a request body over the size limits and the like."""
    if is_api_path(request) and isinstance(exception, RequestDataTooBig):
        too_large = request_too_large()
        return _json_error(413, too_large.default_code, too_large.detail)
    if is_api_path(request):
        return _json_error(400, "bad_request", exceptions.ParseError.default_detail)
    return defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler403: Django's PermissionDenied raised outside a DRF view."""
    if is_api_path(request):
        return _json_error(403, exceptions.PermissionDenied.default_code, exceptions.PermissionDenied.default_detail)
    return defaults.permission_denied(request, exception)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler404: no URL matched (an unknown endpoint, or an id that is not a number)."""
    if is_api_path(request):
        return _json_error(404, exceptions.NotFound.default_code, exceptions.NotFound.default_detail)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: a bug. Django has already logged it with its traceback; the caller learns nothing more."""
    if is_api_path(request):
        return _json_error(500, "server_error", exceptions.APIException.default_detail)
    return defaults.server_error(request)


__all__ = [
    "ApiError",
    "ApiErrorCode",
    "api_error_response",
    "bad_request",
    "error_body",
    "exception_handler",
    "page_not_found",
    "permission_denied",
    "server_error",
    "status",
]
