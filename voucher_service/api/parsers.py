"""The API's one JSON parser: DRF's, with a limit on depth and messages a person can read.

* A body over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` never reaches it: DRF reads JSON through ``request.body``, which
  Django refuses with ``RequestDataTooBig``; ``voucher_service.api.errors`` answers that with a 413.
* A body nested deeper than ``MAX_JSON_DEPTH`` is a 400: no request this API takes is nested a tenth as deep,
  and Python's decoder gives up with RecursionError (a 500) about a thousand levels down.
* ``NaN`` and ``Infinity`` are not JSON and are refused (DRF's strict mode).
* A NUL character (``\u0000``) in any string is refused: no field takes one, and PostgreSQL cannot store it
  (it would be a 500 at the first query). ``voucher_service.api.middleware`` refuses it in paths and queries.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import IO, Any

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework import exceptions, parsers
from rest_framework.settings import api_settings
from rest_framework.utils import json as drf_json

# The deepest a request may nest (a rules document is about six levels deep).
MAX_JSON_DEPTH = 32


def nul_refused() -> str:
    """The refusal of a NUL character, for the parser and for paths and queries (the middleware)."""
    return _("The request contains a NUL character (\\u0000), which no field accepts.")


def _too_deep() -> exceptions.ParseError:
    return exceptions.ParseError(
        _("The request body is nested more than %(depth)d levels deep.") % {"depth": MAX_JSON_DEPTH}
    )


def _has_nul_or_depth(value: Any) -> tuple[bool, int]:
    """Whether any string (or key) in ``value`` holds a NUL character, and how deeply ``value`` nests arrays and
    objects (a scalar is 0); iterative, so a deep body cannot exhaust the stack here either."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True, deepest
            continue
        if isinstance(item, dict):
            children: Any = [*item.keys(), *item.values()]
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, level)
        if level > MAX_JSON_DEPTH:
            break
        stack.extend((child, level + 1) for child in children)
    return False, deepest


class JSONParser(parsers.JSONParser):
    def parse(
        self, stream: IO[Any], media_type: str | None = None, parser_context: Mapping[str, Any] | None = None
    ) -> Any:
        raw = stream.read()
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError as exc:
            raise exceptions.ParseError(
                _("The request body is not %(encoding)s text.") % {"encoding": encoding}
            ) from exc
        try:
            data = self._loads(text)
        except RecursionError as exc:
            raise _too_deep() from exc
        nul, depth = _has_nul_or_depth(data)
        if depth > MAX_JSON_DEPTH:
            raise _too_deep()
        if nul:
            raise exceptions.ParseError(nul_refused())
        return data

    @staticmethod
    def _loads(text: str) -> Any:
        parse_constant = drf_json.strict_constant if api_settings.STRICT_JSON else None
        try:
            return json.loads(text, parse_constant=parse_constant)
        except json.JSONDecodeError as exc:
            raise exceptions.ParseError(
                _("The request body is not valid JSON (line %(line)d, column %(column)d).")
                % {"line": exc.lineno, "column": exc.colno}
            ) from exc
        except ValueError as exc:  # NaN, Infinity (strict_constant)
            raise exceptions.ParseError(
                _("The request body is not valid JSON: NaN and Infinity are not numbers.")
            ) from exc
