"""How a write runs: the one decorator for a service write, the lock order, before-commit hooks, tasks on commit.

**``@service_write``** is the shape of every public write of every package (accounts, the ledger, programs,
vouchers, claims…):

* *Called alone* (no transaction open; a test case's own wrapping transaction counts as none, as it does for
  ``atomic(durable=True)``): the function runs in ``transaction.atomic(durable=True)``, runs the before-commit
  hooks last inside it, and is re-run from the start on a deadlock or serialisation failure (up to
  ``max_attempts`` times, with jittered backoff). Re-running is safe because nothing outside the database
  happens before commit: tasks are sent by ``enqueue_on_commit``, which a rollback drops.
* *Called inside the caller's transaction* (another service, the policy loader, the Django admin): it joins that
  transaction in a savepoint, so a refusal leaves the caller's work intact, and it does not retry; only the
  outermost transaction can be re-run, because a failed statement aborts the whole PostgreSQL transaction. The
  caller's own ``service_write`` re-runs the whole unit of work.

So one function serves both uses: there are no private twins "for use inside a transaction". Every write
retries, programs and accounts included: they take row locks like the rest (a program row, budget rows, an
organisation), so they can deadlock like the rest, and a retry is invisible to their callers.

**``lock_in_pk_order``**: rows locked by several writers are locked in ascending primary-key order, so no two
writers wait on each other in a cycle. **``enqueue_on_commit``**: the one way to start a Celery task from a
write. **``before_commit``**: work that must commit or roll back with whatever unit of work runs inside a block
(the API fences idempotency keys with it).

One refinement for work that is a single SQL statement (the ledger posting an entry on PostgreSQL through
``ledger_post_entry``): alone, outside any transaction and with no before-commit hook (``can_run_alone``),
``run_alone_with_retries`` sends just that statement in autocommit mode. It is its own transaction, as atomic and
durable as one wrapped in ``atomic(durable=True)``, without the BEGIN and COMMIT round trips.
"""

from __future__ import annotations

import functools
import logging
import random
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, ParamSpec, TypeVar, overload

from django.db import OperationalError, models, transaction

logger = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")
M = TypeVar("M", bound=models.Model)

# PostgreSQL: deadlock_detected, serialization_failure. Both mean "nothing was done, run it again".
RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})
DEFAULT_MAX_ATTEMPTS = 6

# Callables to run inside the outermost transaction just before it commits (see ``before_commit``).
_before_commit_hooks: ContextVar[tuple[Callable[[], None], ...]] = ContextVar("before_commit_hooks", default=())


# --- Service writes ---------------------------------------------------------------------------------------


@overload
def service_write(func: Callable[P, R], *, max_attempts: int = ...) -> Callable[P, R]: ...


@overload
def service_write(func: None = None, *, max_attempts: int = ...) -> Callable[[Callable[P, R]], Callable[P, R]]: ...


def service_write(func: Callable[P, R] | None = None, *, max_attempts: int = DEFAULT_MAX_ATTEMPTS) -> Any:
    """Make ``func`` a service write: durable with retries when alone, a savepoint of the caller's transaction
    otherwise (see the module docstring). Usable as ``@service_write`` or ``@service_write(max_attempts=3)``."""

    def decorate(inner: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(inner)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            if in_callers_transaction():
                with transaction.atomic():
                    return inner(*args, **kwargs)
            return _run_with_retries(inner, args, kwargs, max_attempts)

        return wrapper

    if func is not None:
        return decorate(func)
    return decorate


def in_callers_transaction() -> bool:
    """True when the caller has opened a transaction that a service write must join. A test case's wrapping
    transaction (Django's ``TestCase``, pytest-django's ``db``) is not the caller's: there the write behaves as
    in production, as ``atomic(durable=True)`` itself does."""
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        return False
    blocks = connection.atomic_blocks
    return not (blocks and getattr(blocks[-1], "_from_testcase", False))


def is_retryable_conflict(exc: BaseException) -> bool:
    """True for a deadlock or serialisation failure (psycopg ``DeadlockDetected`` / ``SerializationFailure``)."""
    if not isinstance(exc, OperationalError):
        return False
    cause = exc.__cause__
    if getattr(cause, "sqlstate", None) in RETRYABLE_SQLSTATES:
        return True
    # SQLite reports a busy writer as OperationalError("database is locked") once its timeout has elapsed.
    return "database is locked" in str(exc)


def _backoff(attempt: int) -> None:
    # Full jitter, capped: spreads the retries of transactions that just collided.
    time.sleep(random.uniform(0, min(0.2, 0.005 * 2**attempt)))  # noqa: S311


def _run_with_retries(
    inner: Callable[..., R], args: Any, kwargs: Any, max_attempts: int, *, in_transaction: bool = True
) -> R:
    for attempt in range(1, max_attempts + 1):
        try:
            if not in_transaction:
                return inner(*args, **kwargs)
            with transaction.atomic(durable=True):
                result = inner(*args, **kwargs)
                _run_before_commit_hooks()
                return result
        except OperationalError as exc:
            if attempt == max_attempts or not is_retryable_conflict(exc):
                raise
            logger.info("retrying %s after %s (attempt %d)", inner.__qualname__, exc, attempt)
            _backoff(attempt)
    raise AssertionError("unreachable: the last attempt returns or raises")  # pragma: no cover


def can_run_alone() -> bool:
    """True outside any transaction, in autocommit mode, with no before-commit hook: one statement may then be its
    own transaction."""
    connection = transaction.get_connection()
    return connection.get_autocommit() and not connection.in_atomic_block and not _before_commit_hooks.get()


def run_alone_with_retries(func: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """Run ``func``, whose writes are ONE statement, in autocommit mode (see the module docstring), retrying on
    deadlock / serialisation failure like ``service_write``. Only when ``can_run_alone()``."""
    if not can_run_alone():
        raise RuntimeError("run_alone_with_retries needs autocommit mode and no before-commit hook")
    return _run_with_retries(func, args, kwargs, DEFAULT_MAX_ATTEMPTS, in_transaction=False)


# --- Locks ------------------------------------------------------------------------------------------------


def lock_in_pk_order(queryset_or_model: models.QuerySet[M] | type[M], ids: Iterable[Any]) -> list[M]:
    """``SELECT … FOR UPDATE`` the rows with these primary keys, locking them in ascending pk order.

    Every writer that takes several row locks in the same global order cannot deadlock with another one
    (PostgreSQL locks rows in the order the sorted scan returns them). SQLite has no row locks: its writers
    are already serialised by ``BEGIN IMMEDIATE``.
    """
    queryset = queryset_or_model._default_manager.all() if isinstance(queryset_or_model, type) else queryset_or_model
    return list(queryset.select_for_update().filter(pk__in=sorted(set(ids))).order_by("pk"))


# --- After and before commit ------------------------------------------------------------------------------


def enqueue_on_commit(task: Any, *args: Any) -> None:
    """Send ``task`` (a Celery task: ``task.delay(*args)``; or a plain callable that sends, called with ``args``)
    once the current transaction commits, and never if it rolls back. Pass ids, never model instances.

    Always ``robust``: the write is committed by then, so a broker outage must not turn its success into a 500.
    Every task is idempotent and each domain's sweeper (or beat) sends again whatever was lost.
    """
    transaction.on_commit(OnCommitSend(task, args), robust=True)


class OnCommitSend:
    """The callback ``enqueue_on_commit`` registers: which task, with which ids (tests can read both)."""

    def __init__(self, task: Any, args: tuple[Any, ...]) -> None:
        self.task, self.args = task, args
        # Django names a robust callback that failed by its __qualname__ in the log line.
        self.__qualname__ = f"send {getattr(task, 'name', None) or getattr(task, '__qualname__', repr(task))}"

    def __call__(self) -> None:
        # The caller's unit of work has committed: a task run eagerly here (CELERY_TASK_ALWAYS_EAGER) is a unit of
        # its own, so its service writes must not run the caller's before-commit hooks again (an Idempotency-Key's
        # fence, say: one more UPDATE in each of the task's transactions, for a key already marked).
        # ``delay`` is looked up at commit time, so a test that replaces it meanwhile is heard.
        with without_before_commit_hooks():
            getattr(self.task, "delay", self.task)(*self.args)


@contextmanager
def before_commit(hook: Callable[[], None]) -> Iterator[None]:
    """While this block runs, every outermost ``service_write`` transaction calls ``hook`` last, inside the
    transaction, so whatever the hook writes commits (or rolls back) with the work. A hook that raises rolls the
    whole transaction back. The API uses this to fence idempotency keys to exactly one execution.
    """
    token = _before_commit_hooks.set((*_before_commit_hooks.get(), hook))
    try:
        yield
    finally:
        _before_commit_hooks.reset(token)


@contextmanager
def without_before_commit_hooks() -> Iterator[None]:
    """For work that is not the caller's unit of work (every task sent on commit, run eagerly inside a request;
    the ledger's sealer; a second factor's check): its own transactions must not run the request's hooks."""
    token = _before_commit_hooks.set(())
    try:
        yield
    finally:
        _before_commit_hooks.reset(token)


def _run_before_commit_hooks() -> None:
    for hook in _before_commit_hooks.get():
        hook()
