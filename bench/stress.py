"""The stress run at full size (issue 16): 10,000 operations of the seeded generator (``tests.stress``) on 32
threads against PostgreSQL, then every check of the stress test; prints the counts per operation kind and outcome.

Run: ``make bench-stress`` (needs DATABASE_URL pointing at a PostgreSQL server whose role may create databases);
``--operations`` (or ``STRESS_OPERATIONS``) and ``--seed`` (or ``STRESS_SEED``) as in the test. The run has its own
database, ``bench_stress`` (dropped and created at start). Exits 1 if a check fails, printing the seed to replay.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

from bench.plumbing import bench_db, database_url, load_average, machine_facts, recreate_database, setup_django
from bench.summary import YES_NO, Figure, Goal, add_run_options, finish, parse

BENCH_DB = bench_db("bench_stress")
OPERATIONS = 10_000


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--operations", type=int, help=f"default STRESS_OPERATIONS, else {OPERATIONS:,}")
    parser.add_argument("--seed", type=int, help="default STRESS_SEED, else a fresh one")
    return add_run_options(parser)


QUICK = ["--operations", "300"]
CHECKS = "all checks passed"


def main(argv: list[str] | None = None) -> int:
    """Exit 1 when a check failed (the figures say so too), 2 without PostgreSQL."""
    args = parse(parser(), QUICK, argv)
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith("postgres"):
        print("bench.stress needs DATABASE_URL pointing at PostgreSQL", file=sys.stderr)
        return 2
    figures = measure(args)
    finish(args, figures)
    return 0 if all(f.met is not False for f in figures) else 1


def measure(args: argparse.Namespace) -> list[Figure]:
    base = os.environ.get("DATABASE_URL", "")
    with tempfile.TemporaryDirectory(prefix="bench-stress-") as data_dir:
        recreate_database(base, BENCH_DB)
        os.environ.pop("CELERY_TASK_ALWAYS_EAGER", None)
        setup_django(
            database_url(base, BENCH_DB),
            DATA_DIR=data_dir,
            CELERY_BROKER_URL="memory://localhost/",
            CELERY_RESULT_BACKEND="cache+memory://",
        )
        return _run(base, args)


def _run(base: str, args: argparse.Namespace) -> list[Figure]:
    from django.core.management import call_command

    from tests.stress import checks
    from tests.stress.generator import DEFAULT_THREADS, operations_from_env, run, seed_from_env
    from tests.stress.world import build_world

    call_command("migrate", verbosity=0)
    seed = args.seed if args.seed is not None else seed_from_env()
    size = args.operations if args.operations is not None else operations_from_env(OPERATIONS)
    print(f"machine: {machine_facts(base)}; load before: {load_average()}")
    world = build_world(DEFAULT_THREADS)
    result = run(world, seed, size, timeout=3600)
    print(result.table())
    print(f"load after the run: {load_average()}")
    started = time.perf_counter()
    problems = {name: found for name, found in checks.all_problems(world, result.ops).items() if found}
    print(f"checks: {time.perf_counter() - started:.1f} s")
    if problems:
        print(f"FAILED; replay with STRESS_SEED={seed} STRESS_OPERATIONS={size}")
        for name, found in problems.items():
            print(f"{name}:\n  " + "\n  ".join(found[:50]))
    else:
        print("every cap held (cap-compliance proof), verify_ledger clean, budget identities hold, no refusal wrote")
    label = f"{len(result.ops):,} operations on {result.threads} threads (seed {seed})"
    return [
        Figure("stress", label, len(result.ops) / result.seconds, "ops/s"),
        Figure("stress", CHECKS, 0.0 if problems else 1.0, YES_NO, goal=Goal(">=", 1, on="value", text="yes")),
    ]


if __name__ == "__main__":
    sys.exit(main())
