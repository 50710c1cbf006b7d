"""Shared test configuration.

Backend markers: ``@pytest.mark.postgres`` tests need PostgreSQL (row locks, triggers, real concurrency) and
``@pytest.mark.redis`` tests need a Redis broker. Without the backend they are skipped with a reason, and
``make test`` lists them. With ``REQUIRE_ALL_BACKENDS=1`` (set by ``.ci/run``) a missing backend is a failure,
so CI can never pass by skipping them.
"""

from __future__ import annotations

import os

import pytest
from django.db import connection

from voucher_service.celery import app as celery_app

REQUIRE_ALL_BACKENDS = os.environ.get("REQUIRE_ALL_BACKENDS") == "1"


def _redis_url() -> str | None:
    url = os.environ.get("CELERY_BROKER_URL", "")
    return url if url.startswith("redis") else None


def _missing_backends(item: pytest.Item) -> list[str]:
    missing = []
    if item.get_closest_marker("postgres") and connection.vendor != "postgresql":
        missing.append("PostgreSQL (set DATABASE_URL)")
    if item.get_closest_marker("redis") and _redis_url() is None:
        missing.append("Redis (set CELERY_BROKER_URL=redis://…)")
    return missing


def pytest_runtest_setup(item: pytest.Item) -> None:
    missing = _missing_backends(item)
    if not missing:
        return
    reason = "needs " + " and ".join(missing)
    if REQUIRE_ALL_BACKENDS:
        pytest.fail(f"REQUIRE_ALL_BACKENDS=1 but this test {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _celery_eager():
    """Unit tests run tasks inline; the Redis round-trip test starts a real worker instead."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    yield
    celery_app.conf.task_always_eager = previous
