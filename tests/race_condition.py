"""Helpers for tests that race real threads against a real database.

* ``race`` starts every call at the same instant (a ``threading.Barrier``) and collects each call's result
  or exception, in call order. Each worker thread closes its own database connection when it finishes, so
  no connection leaks between tests.
* ``wait_for_lock_waiters`` makes an interleaving deterministic on PostgreSQL: a thread that holds a lock
  can wait until the other thread is provably blocked on it (``pg_locks``) before it lets go.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection


@dataclass
class Outcome:
    value: Any = None
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def race(calls: Sequence[Callable[[], Any]], *, threads: int | None = None, timeout: float = 120) -> list[Outcome]:
    """Run ``calls`` on ``threads`` threads (default: one each), all released together by a barrier.

    With fewer threads than calls, each thread runs its share back to back after the barrier, so the calls
    still overlap heavily (100 calls on 20 threads = 20 racing at any moment).
    """
    thread_count = min(threads or len(calls), len(calls))
    outcomes = [Outcome() for _ in calls]
    barrier = threading.Barrier(thread_count)

    def worker(indexes: list[int]) -> None:
        try:
            barrier.wait(timeout=timeout)
            for index in indexes:
                try:
                    outcomes[index].value = calls[index]()
                except BaseException as exc:
                    outcomes[index].error = exc
        finally:
            connection.close()

    workers = [
        threading.Thread(target=worker, args=(list(range(n, len(calls), thread_count)),), daemon=True)
        for n in range(thread_count)
    ]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(timeout)
        if thread.is_alive():
            raise TimeoutError("a racing thread did not finish; a lock was probably never released")
    return outcomes


def run_in_thread(target: Callable[[], Any]) -> tuple[threading.Thread, Outcome]:
    """Start ``target`` in a thread that closes its connection at the end; join the thread to read the outcome."""
    outcome = Outcome()

    def worker() -> None:
        try:
            outcome.value = target()
        except BaseException as exc:
            outcome.error = exc
        finally:
            connection.close()

    thread = threading.Thread(target=worker, daemon=True)
    thread.start()
    return thread, outcome


def wait_for_lock_waiters(count: int = 1, timeout: float = 10) -> None:
    """Block until ``count`` other PostgreSQL sessions wait for a lock (polls ``pg_locks``)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(DISTINCT pid) FROM pg_locks WHERE NOT granted AND pid <> pg_backend_pid()")
            (waiting,) = cursor.fetchone()
        if waiting >= count:
            return
        time.sleep(0.01)
    raise TimeoutError(f"expected {count} session(s) waiting on a lock")
