"""Transaction shape and row locking shared by the ledger and the domain built on it.

Rule: the outermost caller owns the transaction and its retries. A ledger operation called outside any
transaction opens ``atomic(durable=True)`` and retries on deadlock / serialisation failure; called inside a
caller's atomic block it simply joins it (a savepoint, so a refusal leaves the caller's work intact), and the
caller's own ``ledger_operation``/``retry_on_db_conflict`` re-runs the whole unit of work.

One refinement for work that is a single SQL statement (posting an entry on PostgreSQL, ``ledger_post_entry``):
alone, outside any transaction and with no before-commit hook to run, ``run_alone_with_retries`` sends just that
statement in autocommit mode. The statement is its own transaction, as atomic and durable as one wrapped in
``atomic(durable=True)``, without the BEGIN and COMMIT round trips (a fifth of the CPU per posting). Inside a
caller's transaction that same posting joins it without a savepoint: the function refuses by returning an
outcome, never by a database error, so a refusal (a ``LedgerError``) leaves the caller's transaction usable. Two
consequences for callers: an unexpected database error in the posting (a lock or statement timeout, say) aborts
the caller's transaction, as any failed statement does; and the balance rows a refused posting locked stay locked
until the caller's transaction ends (wrap the call in ``atomic()`` to get a savepoint if that matters).
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

# Callables to run inside the outermost transaction just before it commits (see ``before_commit``).
_before_commit_hooks: ContextVar[tuple[Callable[[], None], ...]] = ContextVar("before_commit_hooks", default=())


@contextmanager
def before_commit(hook: Callable[[], None]) -> Iterator[None]:
    """While this block runs, every outermost ``retry_on_db_conflict`` transaction calls ``hook`` last, inside
    the transaction, so whatever the hook writes commits (or rolls back) with the work. A hook that raises
    rolls the whole transaction back. The API uses this to fence idempotency keys to exactly one execution.
    """
    token = _before_commit_hooks.set((*_before_commit_hooks.get(), hook))
    try:
        yield
    finally:
        _before_commit_hooks.reset(token)


@contextmanager
def without_before_commit_hooks() -> Iterator[None]:
    """For work that is not the caller's unit of work (the ledger's sealer, run eagerly from an on-commit
    callback inside a request): its own transactions must not run the request's hooks a second time."""
    token = _before_commit_hooks.set(())
    try:
        yield
    finally:
        _before_commit_hooks.reset(token)


def can_run_alone() -> bool:
    """True outside any transaction, in autocommit mode, with no before-commit hook: one statement may then be its
    own transaction."""
    connection = transaction.get_connection()
    return connection.get_autocommit() and not connection.in_atomic_block and not _before_commit_hooks.get()


def _run_before_commit_hooks() -> None:
    for hook in _before_commit_hooks.get():
        hook()


# PostgreSQL: deadlock_detected, serialization_failure. Both mean "nothing was done, run it again".
RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})
DEFAULT_MAX_ATTEMPTS = 6


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


@overload
def retry_on_db_conflict(func: Callable[P, R], *, max_attempts: int = ...) -> Callable[P, R]: ...


@overload
def retry_on_db_conflict(
    func: None = None, *, max_attempts: int = ...
) -> Callable[[Callable[P, R]], Callable[P, R]]: ...


def retry_on_db_conflict(func: Callable[P, R] | None = None, *, max_attempts: int = DEFAULT_MAX_ATTEMPTS) -> Any:
    """Run ``func`` in ``atomic(durable=True)``, retrying on deadlock/serialisation failure.

    Inside an existing atomic block it joins that block and does not retry: only the outermost transaction
    can be re-run safely, because a failed statement aborts the whole PostgreSQL transaction.
    Usable as ``@retry_on_db_conflict`` or ``@retry_on_db_conflict(max_attempts=3)``.
    """

    def decorate(inner: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(inner)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            if transaction.get_connection().in_atomic_block:
                with transaction.atomic():
                    return inner(*args, **kwargs)
            return _run_with_retries(inner, args, kwargs, max_attempts)

        return wrapper

    if func is not None:
        return decorate(func)
    return decorate


def run_alone_with_retries(func: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """Run ``func``, whose writes are ONE statement, in autocommit mode (see the module docstring), retrying
    on deadlock / serialisation failure like ``retry_on_db_conflict``. Only when ``can_run_alone()``."""
    if not can_run_alone():
        raise RuntimeError("run_alone_with_retries needs autocommit mode and no before-commit hook")
    return _run_with_retries(func, args, kwargs, DEFAULT_MAX_ATTEMPTS, in_transaction=False)


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


# The name the ledger uses for its public operations; the same decorator serves the domain's services.
ledger_operation = retry_on_db_conflict


def lock_in_pk_order(queryset_or_model: models.QuerySet[M] | type[M], ids: Iterable[Any]) -> list[M]:
    """``SELECT … FOR UPDATE`` the rows with these primary keys, locking them in ascending pk order.

    Every writer that takes several row locks in the same global order cannot deadlock with another one
    (PostgreSQL locks rows in the order the sorted scan returns them). SQLite has no row locks: its writers
    are already serialised by ``BEGIN IMMEDIATE``.
    """
    queryset = queryset_or_model._default_manager.all() if isinstance(queryset_or_model, type) else queryset_or_model
    return list(queryset.select_for_update().filter(pk__in=sorted(set(ids))).order_by("pk"))
