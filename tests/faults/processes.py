"""The processes the fault tests break: a private ``redis-server`` on a spare port (stopped and started again at
will), real ``celery worker`` subprocesses against it and the test database (killed with SIGKILL), and the
project's Celery app pointed at that Redis for the test's own sends.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast
from unittest import mock

from django.db import connection

from tests.embedded import free_port
from voucher_service.celery import app

ROOT = Path(__file__).resolve().parents[2]
CELERY = ROOT / ".venv" / "bin" / "celery"
WORKER = [str(CELERY), "-A", "tests.faults.worker_app", "worker", "--pool=solo", "--loglevel=info"]
WORKER += ["--without-gossip", "--without-mingle", "--without-heartbeat"]


def wait_until(condition: Callable[[], Any], timeout: float, what: str, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"waited {timeout} s for {what}")


@dataclass
class RedisServer:
    """``redis-server`` on a spare port, without persistence; ``stop()`` and ``start()`` keep the port."""

    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603
            ["redis-server", "--port", str(self.port), "--save", "", "--appendonly", "no", "--daemonize", "no"],  # noqa: S607
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(self.answers, 10, f"redis-server on port {self.port}")

    def answers(self) -> bool:
        import redis

        try:
            return bool(redis.Redis.from_url(self.url, socket_timeout=0.5).ping())
        except redis.RedisError:
            return False

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None

    def queued(self, queue: str = "celery") -> int:
        import redis

        return int(redis.Redis.from_url(self.url).llen(queue))


def tests_database_url() -> str:
    """The test database, as the test process connects to it (a worker subprocess connects the same way)."""
    db = connection.settings_dict
    return f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@dataclass
class Worker:
    """A real ``celery worker`` process (solo pool: one process, so SIGKILL kills all of it) consuming the
    private Redis, against the test database. Redelivery of an unacknowledged message is tuned to seconds."""

    broker: str
    log: Path
    process: subprocess.Popen | None = None

    def start(self) -> Worker:
        environment = {
            **os.environ,
            "DATABASE_URL": tests_database_url(),
            "DB_POOL": "0",
            "CELERY_BROKER_URL": self.broker,
            "CELERY_RESULT_BACKEND": self.broker,
            "CELERY_TASK_ALWAYS_EAGER": "0",
            # The solo pool enforces no time limits; the visibility timeout must still exceed them.
            "TASK_SOFT_TIME_LIMIT_SECONDS": "1",
            "TASK_TIME_LIMIT_SECONDS": "2",
            "BROKER_VISIBILITY_TIMEOUT_SECONDS": "3",
            "LEDGER_SEAL_ON_COMMIT": "0",
            "DJANGO_SETTINGS_MODULE": "voucher_service.settings",
        }
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(  # noqa: S603 (our own venv's celery)
                [*WORKER, "-n", f"fault-{time.monotonic_ns()}@%h"],
                cwd=ROOT,
                env=environment,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        wait_until(lambda: b" ready." in self.log.read_bytes() or self.process.poll() is not None, 30, "the worker")
        assert self.process.poll() is None, self.log.read_text(errors="replace")[-3000:]
        return self

    def kill(self) -> None:
        """SIGKILL: no shutdown, no acknowledgement, no rollback sent (PostgreSQL rolls back when it notices)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)
        self.process = None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
        self.process = None


def _forget_connections() -> None:
    """The app caches its broker connection pool, producer pool and result backend; drop them all so the next
    send uses the current configuration."""
    private = cast(Any, app)
    private._pool = None
    private.amqp._producer_pool = None
    private._backend_cache = None
    private._local = threading.local()


@contextlib.contextmanager
def app_sending_to(broker: str) -> Iterator[None]:
    """The project's Celery app sends to ``broker`` (eager mode off) while the block runs. (Celery reads the broker
    URL from the environment before its configuration, so the environment says so too.)"""
    keys = ("broker_url", "result_backend", "task_always_eager", "broker_connection_timeout")
    saved = {key: app.conf.get(key) for key in keys}
    app.conf.update(broker_url=broker, result_backend=broker, task_always_eager=False, broker_connection_timeout=1)
    _forget_connections()
    try:
        with mock.patch.dict(os.environ, {"CELERY_BROKER_URL": broker, "CELERY_RESULT_BACKEND": broker}):
            yield
    finally:
        app.conf.update(saved)
        _forget_connections()


def backends_waiting_for_a_lock() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(DISTINCT pid) FROM pg_locks WHERE NOT granted AND pid <> pg_backend_pid()")
        return int(cursor.fetchone()[0])
