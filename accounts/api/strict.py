"""The base of every write serializer in the API: it takes exactly what the OpenAPI schema says.

DRF on its own is lenient in ways the schema does not admit: it ignores fields it does not declare (so a client
that sends ``status`` or a misspelt ``purpos`` never learns it was dropped), and it coerces values (``123`` into
the string "123", ``"3"`` or ``true`` into the id 3 or 1, ``"yes"`` into ``True``). ``StrictSerializer`` refuses
all of that with a 400 that names each field:

* the body must be a JSON object (``null``, a list or a string is refused with a message that says so);
* a field the serializer does not take (misspelt, or read-only such as ``id`` or ``status``) is ``unknown_field``;
* a value of the wrong JSON type is ``invalid_type``: a string field takes a string, an integer or id field an
  integer, a boolean field ``true`` or ``false``, a list field an array (each item checked the same way), and a
  date field a ``YYYY-MM-DD`` string. A multipart form carries only strings: there an integer is its decimal
  digits and a boolean ``true`` or ``false``, the way OpenAPI clients encode them.

It lives in ``accounts`` because accounts is the lowest package with an API and may import nothing above it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, cast

from django.db.models import QuerySet
from django.http import QueryDict
from django.utils.translation import gettext as _
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail, ValidationError
from rest_framework.settings import api_settings

_FORM_INTEGER = re.compile(r"-?(0|[1-9][0-9]*)")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def json_type(value: Any) -> str:
    """The JSON name of a parsed value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "array"
    return "object"


def _is_integer(value: Any, form: bool) -> bool:
    if form:
        return isinstance(value, str) and bool(_FORM_INTEGER.fullmatch(value))
    return isinstance(value, int) and not isinstance(value, bool)


def _is_boolean(value: Any, form: bool) -> bool:
    return value in ("true", "false") if form else isinstance(value, bool)


def type_errors(name: str, field: serializers.Field, value: Any, *, form: bool = False) -> dict[str, str]:
    """``{path: why}`` for each part of ``value`` that is not of the JSON type ``field`` takes (a list's items
    as ``name.<index>``); empty when it is."""
    if isinstance(field, (serializers.ManyRelatedField, serializers.ListField)) and isinstance(value, list):
        child = field.child_relation if isinstance(field, serializers.ManyRelatedField) else field.child
        items = {f"{name}.{index}": type_error(child, item, form=form) for index, item in enumerate(value)}
        return {path: problem for path, problem in items.items() if problem}
    problem = type_error(field, value, form=form)
    return {name: problem} if problem else {}


def type_error(field: serializers.Field, value: Any, *, form: bool = False) -> str | None:
    """Why ``value`` is not of the JSON type ``field`` takes, or None. ``None`` is the field's own business."""
    if value is None:
        return None
    if isinstance(value, str) and "\x00" in value:  # (a JSON body never gets here with one: the parser refuses)
        return _("This field cannot contain a NUL character (\\u0000).")
    got = {"type": json_type(value)}
    if isinstance(field, (serializers.ManyRelatedField, serializers.ListField)):
        return (
            None if isinstance(value, list) else _("This field takes a list (a JSON array), not a JSON %(type)s.") % got
        )
    if isinstance(field, serializers.BooleanField):
        return None if _is_boolean(value, form) else _("This field takes true or false, not a JSON %(type)s.") % got
    if isinstance(field, (serializers.IntegerField, serializers.PrimaryKeyRelatedField)):
        if _is_integer(value, form):
            return None
        return _("This field takes a whole number (a JSON integer), not a JSON %(type)s.") % got
    if isinstance(field, serializers.DateField):
        if isinstance(value, str) and _ISO_DATE.fullmatch(value):
            return None
        return _("This field takes a date written YYYY-MM-DD, such as 2026-01-31.")
    if isinstance(field, (serializers.CharField, serializers.ChoiceField, serializers.SlugRelatedField)):
        return (
            None if isinstance(value, str) else _("This field takes text (a JSON string), not a JSON %(type)s.") % got
        )
    return None


# No docstring on purpose: drf-spectacular would show it as the description of every write serializer that
# has none of its own. See the module docstring. ``querysets={"program": …}`` narrows related-object fields
# (``many=True`` ones too) to what the caller may see: anything else is "does not exist", exactly as for an id
# that does not.
class StrictSerializer(serializers.Serializer):
    def __init__(self, *args: Any, querysets: Mapping[str, QuerySet] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, queryset in (querysets or {}).items():
            field = self.fields[name]
            related = field.child_relation if isinstance(field, serializers.ManyRelatedField) else field
            cast(serializers.RelatedField, related).queryset = queryset

    def run_validation(self, data: Any = serializers.empty) -> Any:
        if data is None:  # a JSON null body (DRF would answer "No data provided", untranslated)
            message = _("The request body is null; send a JSON object with this request's fields.")
            raise ValidationError({api_settings.NON_FIELD_ERRORS_KEY: [ErrorDetail(message, code="null")]})
        return super().run_validation(data)

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, Mapping):
            message = _("The request body must be a JSON object, not a JSON %(type)s.") % {"type": json_type(data)}
            raise ValidationError({api_settings.NON_FIELD_ERRORS_KEY: [ErrorDetail(message, code="invalid")]})
        errors = self._shape_errors(data)
        try:
            value = super().to_internal_value(data)
        except ValidationError as exc:
            # Our word on a field replaces DRF's (which would say the same less exactly, or coerce).
            ours = {path.split(".", 1)[0] for path in errors}
            theirs = exc.detail if isinstance(exc.detail, dict) else {}
            raise ValidationError({**{k: v for k, v in theirs.items() if k not in ours}, **errors}) from exc
        if errors:
            raise ValidationError(errors)
        return value

    def _shape_errors(self, data: Mapping[str, Any]) -> dict[str, list[ErrorDetail]]:
        writable = {name: field for name, field in self.fields.items() if not field.read_only}
        form = isinstance(data, QueryDict)
        errors = {
            name: [ErrorDetail(_("This field cannot be set here."), code="unknown_field")]
            for name in sorted(set(data) - set(writable))
        }
        for name, field in writable.items():
            if name in data:
                for path, problem in type_errors(name, field, data[name], form=form).items():
                    errors[path] = [ErrorDetail(problem, code="invalid_type")]
        return errors
