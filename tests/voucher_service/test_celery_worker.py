"""A real Celery worker, through a real Redis broker and result backend.

Everywhere else tasks run eagerly (tests/conftest.py); this test proves the wiring the eager mode skips:
serialisation, routing, the broker connection, acknowledgement and the result backend.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from typing import Any, cast

import pytest
from celery.contrib.testing.worker import start_worker
from celery.result import EagerResult

from voucher_service.celery import app, ping

pytestmark = pytest.mark.redis


@pytest.fixture
def redis_app() -> Iterator[None]:
    """The project's Celery app pointed at Redis for both broker and results, with eager mode off."""
    url = os.environ["CELERY_BROKER_URL"]
    saved = {
        key: app.conf.get(key) for key in ("broker_url", "result_backend", "task_always_eager", "task_default_queue")
    }
    app.conf.update(broker_url=url, result_backend=url, task_always_eager=False)

    _forget_result_backend()
    yield
    app.conf.update(saved)
    _forget_result_backend()


def _forget_result_backend() -> None:
    # The app caches its result backend object (per thread, or shared when thread-safe) and celery has no
    # public way to reset it; drop both caches so the next backend is built from the current config.
    private = cast(Any, app)
    private._backend_cache = None
    private._local = threading.local()


def test_ping_round_trips_through_a_real_worker(redis_app):
    # A queue of its own, so that no other worker on the same Redis (a deployment's, `make run`'s) takes the
    # task. A fixed name, not a random one: kombu keeps a queue's bindings in Redis after the worker stops,
    # and one stale binding is better than one per run. (Concurrent test runs share it harmlessly: every
    # worker on it runs this same task code into the same result backend.)
    queue = "voucher_service-test-ping"
    threads_before = set(threading.enumerate())
    with start_worker(app, pool="solo", concurrency=1, queues=[queue], perform_ping_check=False, shutdown_timeout=10):
        result = ping.apply_async(("round-trip",), queue=queue)
        assert not isinstance(result, EagerResult), "the task ran inline, not through the broker"
        assert result.get(timeout=10) == "round-trip"
        assert result.successful()
        result.forget()

    # start_worker stops and joins its thread on exit; nothing of the worker may outlive the test.
    assert set(threading.enumerate()) <= threads_before
