"""Asserting typed refusals: every package raises ``core.errors.ServiceError`` with a domain's code.

``with refused(LedgerErrorCode.LIMIT_EXCEEDED) as raised:`` asserts that the block raises a ``ServiceError`` with
exactly that code (``raised.value`` is the error); ``is_refusal(error, code)`` is the same test for an error kept
by a thread.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from core.errors import ErrorCode, ServiceError


@contextmanager
def refused(code: ErrorCode) -> Iterator[Any]:
    with pytest.raises(ServiceError) as raised:
        yield raised
    assert raised.value.code == code, f"refused with {raised.value.code!r}, not {code!r}: {raised.value}"


def is_refusal(error: BaseException | None, code: ErrorCode) -> bool:
    return isinstance(error, ServiceError) and error.code == code
