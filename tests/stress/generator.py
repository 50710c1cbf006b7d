"""The seeded stress generator, shared by the test (``tests/stress/test_stress.py``, a reduced size) and the
benchmark (``python -m bench.stress``, 10,000 operations).

``plan(seed, operations)`` draws the sequence of operation kinds from the seed; ``run(world, plan, threads)``
releases ``threads`` threads at once (``tests.race_condition.race``), operation ``i`` on thread ``i % threads``,
each with its own ``random.Random(f"{seed}:{i}")`` for its choices. Which row an operation lands on depends on
the interleaving, so a replay of a seed runs the same operations with the same choices, not the same schedule.

While it runs, the tasks that commits queue (issuance, bulk, evaluation, payout, sealing) are not sent: each
operation runs its worker step itself, in its own thread (``tests.stress.operations``).
"""

from __future__ import annotations

import functools
import os
import random
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from unittest import mock

from django.db import connection
from django.utils import timezone

from core.errors import ServiceError
from tests.race_condition import race
from tests.stress.operations import OPERATIONS, Context, Op
from tests.stress.world import World

DEFAULT_THREADS = 32


def seed_from_env() -> int:
    """``STRESS_SEED`` if set (to replay a failure), else a fresh one."""
    value = os.environ.get("STRESS_SEED", "").strip()
    return int(value) if value else random.SystemRandom().randrange(1, 2**31)


def operations_from_env(default: int) -> int:
    value = os.environ.get("STRESS_OPERATIONS", "").strip()
    return int(value) if value else default


def plan(seed: int, operations: int) -> list[str]:
    rng = random.Random(seed)
    kinds = list(OPERATIONS)
    weights = [OPERATIONS[kind][1] for kind in kinds]
    return rng.choices(kinds, weights=weights, k=operations)


@dataclass
class Run:
    seed: int
    threads: int
    ops: list[Op]
    seconds: float

    def counts(self) -> Counter[tuple[str, str]]:
        return Counter((op.kind, op.outcome) for op in self.ops)

    def table(self) -> str:
        """Counts per kind and outcome, one line each."""
        by_kind: dict[str, Counter[str]] = {}
        for (kind, outcome), count in sorted(self.counts().items()):
            by_kind.setdefault(kind, Counter())[outcome] = count
        lines = [f"{len(self.ops)} operations on {self.threads} threads in {self.seconds:.1f} s (seed {self.seed})"]
        for kind in OPERATIONS:
            outcomes = by_kind.get(kind, Counter())
            total = sum(outcomes.values())
            detail = ", ".join(f"{outcome} {n}" for outcome, n in outcomes.most_common())
            lines.append(f"  {kind:<13} {total:>5}  {detail}")
        return "\n".join(lines)


def _outcome(exc: BaseException) -> tuple[str, str]:
    if isinstance(exc, ServiceError):
        return f"refused:{exc.code}", str(exc.message)
    return f"error:{type(exc).__name__}", repr(exc)[:500]


def _call(world: World, seed: int, op: Op) -> Op:
    ctx = Context(world=world, crew=world.crews[op.thread], rng=random.Random(f"{seed}:{op.index}"), op=op)
    function = OPERATIONS[op.kind][0]
    try:
        op.outcome = function(ctx)
    except Exception as exc:
        op.outcome, op.error = _outcome(exc)
    finally:
        op.ended = timezone.now()
    return op


@contextmanager
def tasks_not_sent() -> Iterator[None]:
    """The tasks commits queue are not sent while the run runs: each operation does its worker's step itself."""
    from ledger import tasks as ledger_tasks
    from voucher_service.claims import tasks as claims_tasks
    from voucher_service.vouchers import tasks as voucher_tasks

    held = [
        voucher_tasks.issue_voucher,
        voucher_tasks.run_bulk_issuance,
        claims_tasks.evaluate_claim,
        claims_tasks.execute_payout,
        ledger_tasks.seal_ledger_task,
    ]
    with ExitStack() as stack:
        for task in held:
            stack.enter_context(mock.patch.object(task, "delay", return_value=None))
            stack.enter_context(mock.patch.object(task, "apply_async", return_value=None))
        yield


def _close_pooled_connections() -> None:
    """The threads returned their connections to this process's pool, where they would stay open (one per thread)
    for the tests after this one, on a server whose connections are shared: close the pool (a new one opens)."""
    connection.close()
    if getattr(connection, "pool", None) is not None:
        connection.close_pool()  # type: ignore[attr-defined]


def run(world: World, seed: int, operations: int, threads: int = DEFAULT_THREADS, timeout: float = 600) -> Run:
    kinds = plan(seed, operations)
    ops = [Op(index=n, kind=kind, thread=n % threads, token=f"s{seed}o{n}") for n, kind in enumerate(kinds)]
    connection.close()  # the threads open their own
    started = time.perf_counter()
    with tasks_not_sent():
        race([functools.partial(_call, world, seed, op) for op in ops], threads=threads, timeout=timeout)
    _close_pooled_connections()
    return Run(seed=seed, threads=threads, ops=ops, seconds=time.perf_counter() - started)
