"""The OpenAPI schema says everything the API answers, so that clients (and schemathesis) can rely on it.

* Every operation lists the error statuses it can give, each with the one error body
  (``voucher_service.api.errors``): 400 for a write or where a query or header is read; 401 where a token is
  read; 403
  where one is required; 404 for a path naming an object; 409 for a write that can conflict with the state;
  413 and 415 for a request body; 429 where a rate limit applies. A 500 is never documented: it is a bug.
* Operation ids are readable, ``<resource>_<action>`` (``program_publish``, ``voucher_application_approve``),
  so generated clients get functions with names a person would choose.
* Request bodies are closed (``additionalProperties: false``): the write serializers refuse unknown fields
  (``accounts.api.strict``), and the schema says so.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular import openapi
from drf_spectacular.utils import OpenApiResponse
from rest_framework import permissions, serializers

UNSAFE = ("POST", "PUT", "PATCH", "DELETE")
# What a viewset action does, in an operation id.
VERBS = {
    "list": "list",
    "retrieve": "get",
    "create": "create",
    "partial_update": "update",
    "update": "replace",
    "destroy": "delete",
}
ERROR_DESCRIPTIONS = {
    "400": "The request is not valid: per-field messages in error.fields.",
    "401": "No valid token (or session) was sent, or the credentials are wrong.",
    "403": "The caller may not do this (role, separation of duties or CSRF).",
    "404": "No such object, or not one the caller may see.",
    "409": "The request conflicts with the current state (a transition, a cap, an Idempotency-Key).",
    "413": "The request body is over the size limit.",
    "415": "The request body is not in a media type this operation takes.",
    "429": "Too many requests: wait for Retry-After seconds.",
}


class ErrorFieldSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()


class ErrorDetailSerializer(serializers.Serializer):
    """Some errors carry more than these (``checks`` of an eligibility refusal, ``duplicate_of``…)."""

    status = serializers.IntegerField()
    code = serializers.CharField()
    message = serializers.CharField()
    # The serializer metaclass takes declared fields out of the class, so this does not shadow .fields.
    fields = serializers.DictField(  # type: ignore[assignment]
        child=ErrorFieldSerializer(many=True),
        required=False,
        help_text="Per-field errors, by dotted path (rows.3.amount).",
    )


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


class AutoSchema(openapi.AutoSchema):
    def get_operation_id(self) -> str:
        action, basename = getattr(self.view, "action", None), getattr(self.view, "basename", None)
        if action and basename:
            return f"{basename.replace('-', '_')}_{VERBS.get(action, action)}"
        return super().get_operation_id()

    def _resolve_path_parameters(self, variables: Any) -> list[dict[str, Any]]:
        r"""An id the route takes as digits only (``lookup_value_regex = r"\d+"``) is an integer, as elsewhere."""
        parameters = super()._resolve_path_parameters(variables)
        for parameter in parameters:
            if parameter["schema"] == {"type": "string", "pattern": "^\\d+$"}:
                parameter["schema"] = {"type": "integer"}
        return parameters

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        for code in self._error_statuses():
            if code not in responses:
                error = OpenApiResponse(response=ErrorSerializer, description=ERROR_DESCRIPTIONS[code])
                responses[code] = self._get_response_for_code(error, code, direction=direction)
        return responses

    def _error_statuses(self) -> list[str]:
        parameters = self._get_parameters()
        has_body = self.method in UNSAFE and self._get_request_body() is not None
        authenticates = bool(self.view.get_authenticators())
        open_to_all = all(isinstance(p, permissions.AllowAny) for p in self.view.get_permissions())
        codes = []
        # Any write can be refused as invalid (publishing a program without a start date, say), body or not.
        if self.method in UNSAFE or any(p["in"] in ("query", "header") for p in parameters):
            codes.append("400")
        if authenticates:
            codes.append("401")
        if authenticates and not open_to_all:
            codes.append("403")
        if any(p["in"] == "path" for p in parameters):
            codes.append("404")
        if self.method in ("POST", "PUT", "PATCH"):
            codes.append("409")
        if has_body:
            codes += ["413", "415"]
        if self.view.get_throttles():
            codes.append("429")
        return codes


def close_request_bodies(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """Postprocessing hook: every request component refuses properties it does not name."""
    for name, component in result.get("components", {}).get("schemas", {}).items():
        if name.endswith("Request") and component.get("type") == "object":
            component["additionalProperties"] = False
    return result
