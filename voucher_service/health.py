"""/healthz: is the database answering, and can we reach the Celery broker?

Load balancers and orchestrators call this without credentials, so it reveals only up/down and, for a failing
check, the exception's type (``OperationalError``). The exception itself, whose text can name hosts, ports, users
and paths, goes to the server log with its traceback.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from voucher_service.celery import app as celery_app

logger = logging.getLogger(__name__)

BROKER_TIMEOUT_SECONDS = 2


def check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def check_broker() -> None:
    # A fresh connection each time: a pooled one could report "up" for a broker that has gone away.
    # connect_timeout bounds a black-holed host; max_retries=0 skips kombu's 2 s back-off sleep, because the
    # load balancer probing us is the retry loop and a slow /healthz is as bad as a failing one.
    with celery_app.connection_for_write(connect_timeout=BROKER_TIMEOUT_SECONDS) as conn:
        if conn.transport_cls == "filesystem":
            _check_filesystem_broker(conn.transport_options or {})
            return
        conn.ensure_connection(max_retries=0, timeout=BROKER_TIMEOUT_SECONDS)
        conn.default_channel  # noqa: B018  (opening a channel proves the broker really answers)


def _check_filesystem_broker(options: dict) -> None:
    # Embedded mode: "connecting" to the filesystem transport always succeeds, even if its folders are gone,
    # so check what a publish and a consume actually need: the queue folders exist and are writable.
    for key in ("data_folder_in", "data_folder_out"):
        folder = options.get(key)
        if not folder or not os.path.isdir(folder):
            raise ConnectionError(f"filesystem broker {key} {folder!r} does not exist")
        if not os.access(folder, os.W_OK | os.X_OK):
            raise ConnectionError(f"filesystem broker {key} {folder!r} is not writable")


CHECKS: dict[str, Callable[[], None]] = {"database": check_database, "broker": check_broker}


def _run(name: str, check: Callable[[], None]) -> dict[str, object]:
    started = time.monotonic()
    try:
        check()
    except Exception as exc:  # a health check reports every failure instead of raising it
        logger.warning("health check %s failed: %s: %s", name, type(exc).__name__, exc, exc_info=True)
        return {"ok": False, "error": type(exc).__name__}
    return {"ok": True, "latency_ms": round((time.monotonic() - started) * 1000, 1)}


@never_cache
@require_safe  # GET and HEAD: some load balancers probe with HEAD
def healthz(request: HttpRequest) -> JsonResponse:
    results = {name: _run(name, check) for name, check in CHECKS.items()}
    healthy = all(result["ok"] for result in results.values())
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", "checks": results}, status=200 if healthy else 503
    )
