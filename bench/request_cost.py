"""The application CPU of one request, in process: approve-and-issue, a claim decision, and the baseline.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/anything .venv/bin/python -m bench.request_cost

The whole Django stack (every middleware, DRF authentication by Bearer token, the view, the services, the eager
Celery task) runs in this process through Django's test client (``django.test.Client``: the same handler as WSGI,
without a socket) against PostgreSQL, in its own database (``bench_request_cost``, or ``BENCH_DB``; dropped,
created and migrated at start). Each request's cost is this process's CPU time (``time.process_time``: user +
system, every thread) around it, which the machine's load changes much less than wall time; its SQL statements
are counted with an execute wrapper. Production settings, DEBUG off, ``CELERY_TASK_ALWAYS_EAGER=1`` (the issuance
runs inside the approval's request, as in ``bench.issuance``), ``BENCH_BASELINE_ENDPOINT=1``.

* ``baseline``: ``POST /api/v1/bench/baseline/`` (``voucher_service.api.baseline``): one row inserted.
* ``approve``: ``POST /api/v1/voucher-applications/{id}/approve/`` with an ``Idempotency-Key``: the approval and,
  after its commit, the issuance of the voucher (``bench.world``'s program and submitted applications).
* ``decide``: ``POST /api/v1/claims/{id}/decide/`` (each of the three stage approvals), within whole lifecycles
  of ``bench.claims`` (its world: Baoding's rules, no public notice); every other request of the lifecycle is
  measured too and shown as ``claims <action>``.

``--profile approve`` (or ``decide``, ``baseline``) runs that many more requests of the kind under pyinstrument
and prints the call tree (wall time, one thread: waits on PostgreSQL show as psycopg frames).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import statistics
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bench import callgrind
from bench.plumbing import (
    SqlStats,
    bench_db,
    database_url,
    load_average,
    machine_facts,
    recreate_database,
    setup_django,
)
from bench.summary import Figure, Goal, add_run_options, finish, parse

BENCH_DB = os.environ.get("BENCH_DB") or bench_db("bench_request_cost")
KINDS = ("baseline", "approve", "decide")


@dataclass
class Costs:
    """CPU ms and SQL statements of each request of one kind."""

    cpu_ms: list[float] = field(default_factory=list)
    statements: list[int] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=lambda: defaultdict(int))

    def row(self, label: str, baseline: Costs | None) -> str:
        mean = statistics.fmean(self.cpu_ms)
        ratio = f"{mean / statistics.fmean(baseline.cpu_ms):.1f}×" if baseline else "1.0×"
        return (
            f"| {label} | {len(self.cpu_ms)} | **{mean:.1f}** | {statistics.median(self.cpu_ms):.1f} "
            f"| {statistics.fmean(self.statements):.1f} | {ratio} | {dict(self.statuses)} |"
        )


class InProcessClient:
    """``bench.claims.Client``'s interface over Django's test client; each POST's CPU and SQL go to ``costs``."""

    def __init__(self, costs: dict[str, Costs], label_of: Callable[[str], str]) -> None:
        from django.test import Client

        self.client = Client(HTTP_HOST="127.0.0.1")
        self.costs, self.label_of = costs, label_of

    def post(self, path: str, token: str, body: Any = None, *, form: tuple[bytes, str] | None = None) -> Any:
        from django.db import connection

        payload, content_type = form if form else (json.dumps(body or {}).encode(), "application/json")
        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid.uuid4())}
        sql = SqlStats()
        started = time.process_time()
        with connection.execute_wrapper(sql):
            response = self.client.generic("POST", path, payload, content_type=content_type, headers=headers)
        costs = self.costs[self.label_of(path)]
        costs.cpu_ms.append(1000 * (time.process_time() - started))
        costs.statements.append(sql.statements)
        costs.statuses[response.status_code] += 1
        return json.loads(response.content or b"{}") if response.status_code < 300 else {}


def environment(data_dir: str) -> dict[str, str]:
    """The settings every request here runs under (and ``bench.callgrind``'s child too)."""
    return {
        "DATA_DIR": data_dir,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        # As in bench.server: the finance client's bearer token has no authenticator, so the payout's second
        # factor (one TOTP check, tested in tests/) is off here; with it on, every payout answers 403.
        "PORTAL_FINANCE_REQUIRE_TOTP": "0",
        "DEBUG": "0",
        "CELERY_TASK_ALWAYS_EAGER": "1",
        "CELERY_BROKER_URL": "memory://localhost/",
        "CELERY_RESULT_BACKEND": "cache+memory://",
        "BENCH_BASELINE_ENDPOINT": "1",
        "LOG_LEVEL": "WARNING",
    }


def setup(base_url: str, data_dir: str) -> None:
    recreate_database(base_url, BENCH_DB)
    setup_django(database_url(base_url, BENCH_DB), **environment(data_dir))
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def approvals(count: int) -> tuple[str, list[int]]:
    """The issuance benchmark's world (its own usernames) and ``count`` submitted applications; the token."""
    from accounts.tokens import token_issue
    from bench.world import create_applications, create_entities, create_world

    world = create_world(annual_cap_yuan=100 * count + 1_000_000, prefix="cost")
    ids = create_applications(world, create_entities(9_000_000, count))
    return token_issue(actor=world.admin, user=world.reviewer, name="bench")[1], ids


def label_of_claim_path(path: str) -> str:
    action = path.rstrip("/").rsplit("/", 1)[-1]
    if action == "decide":
        return "decide"
    return f"claims {action if not action.isdigit() and action != 'claims' else 'create'}"


def run(args: argparse.Namespace) -> tuple[dict[str, Costs], dict[str, int]]:
    """CPU ms and statements of each kind, then instructions per request of each kind counted by callgrind."""
    from bench import claims

    costs: dict[str, Costs] = defaultdict(Costs)
    client = InProcessClient(costs, lambda path: "approve" if path.endswith("/approve/") else "baseline")
    counted = callgrind.WARMUP + args.instructions if args.instructions and callgrind.available() else 0
    token, ids = approvals(args.warmup + args.count + args.profile_count + counted)
    ids, callgrind_ids = ids[: len(ids) - counted], ids[len(ids) - counted :]
    claims_world = claims.create_world(entity_count=-(-(args.claims + args.profile_count) // 10) + 1)
    claim_client = InProcessClient(costs, label_of_claim_path)
    specs = list(claims_world.specs)

    def baseline(n: int) -> None:
        client.post("/api/v1/bench/baseline/", token)

    def approve(n: int) -> None:
        client.post(f"/api/v1/voucher-applications/{ids.pop(0)}/approve/", token)

    def lifecycle(n: int) -> None:
        claims.lifecycle(claim_client, claims_world, specs.pop(0))  # type: ignore[arg-type]

    runners = {"baseline": (baseline, args.count), "approve": (approve, args.count), "decide": (lifecycle, args.claims)}
    for kind, (runner, count) in runners.items():
        for n in range(args.warmup if kind != "decide" else 1):
            runner(n)
        costs.clear() if kind == "baseline" else costs.pop(kind, None)
        if kind == "decide":
            for label in [label for label in costs if label.startswith("claims") or label == "decide"]:
                costs.pop(label)
        for n in range(count):
            runner(n)
        print(f"{kind}: {count} runs, load {load_average()}", flush=True)
    measured = dict(costs)
    client.costs = claim_client.costs = defaultdict(Costs)  # the profiled runs are not counted
    if args.profile:
        runs = args.profile_count if args.profile != "decide" else max(1, args.profile_count // 3)
        profile(runners[args.profile][0], runs // 2)
    return measured, instructions(args, token, callgrind_ids)


def instructions(args: argparse.Namespace, token: str, ids: list[int]) -> dict[str, int]:
    if not args.instructions:
        return {}
    if not callgrind.available():
        print("valgrind is not installed: instructions per request not counted", flush=True)
        return {}
    # The child runs against this process's database (``setup_django`` put its URL in the environment).
    child = {"DATABASE_URL": os.environ["DATABASE_URL"], **environment(os.environ["DATA_DIR"])}
    counts = {}
    for kind in ("baseline", "approve"):
        counts[kind] = callgrind.count(kind, args.instructions, token=token, ids=ids, environment=child)
        print(f"{kind}: {counts[kind]:,} instructions per request (callgrind, n = {args.instructions})", flush=True)
    return counts


def profile(runner: Callable[[int], None], count: int) -> None:
    """pyinstrument's call tree (wall time) of ``count`` runs, then cProfile's own-CPU-time table of as many more."""
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.0005)
    profiler.start()
    for n in range(count):
        runner(n)
    profiler.stop()
    print(profiler.output_text(unicode=True, color=False, show_all=False))
    cpu = cProfile.Profile(time.process_time)
    cpu.enable()
    for n in range(count):
        runner(n)
    cpu.disable()
    print(f"--- cProfile, CPU time (time.process_time) of {count} runs: by own time, then cumulative ---")
    stats = pstats.Stats(cpu, stream=sys.stdout).strip_dirs()
    stats.sort_stats("tottime").print_stats(25)
    stats.sort_stats("cumulative").print_stats(60)


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=200, help="baseline and approve requests measured")
    parser.add_argument("--claims", type=int, default=30, help="claim lifecycles measured (three decisions each)")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--profile", choices=KINDS)
    parser.add_argument("--profile-count", type=int, default=60)
    parser.add_argument(
        "--instructions",
        type=int,
        default=20,
        metavar="N",
        help="count the instructions of N baseline and N approve requests under callgrind (0: skip; needs valgrind)",
    )
    return add_run_options(parser)


QUICK = ["--count", "20", "--claims", "3", "--warmup", "3", "--instructions", "3"]


def main(argv: list[str] | None = None) -> None:
    args = parse(parser(), QUICK, argv)
    finish(args, measure(args))


APPROVE_GOAL_MS = 15.0  # issue 16 item 4: approve-and-issue at most 15 ms of application CPU


def measure(args: argparse.Namespace) -> list[Figure]:
    base_url = os.environ.get("DATABASE_URL", "")
    if not base_url.startswith("postgres"):
        raise SystemExit("Set DATABASE_URL to a PostgreSQL server (the bench creates its own database).")
    print(f"machine: {machine_facts(base_url)}; load at start {load_average()}", flush=True)
    setup(base_url, tempfile.mkdtemp(prefix="bench-request-cost-"))
    costs, counted = run(args)
    print(f"\nload average at end: {load_average()}\n")
    print("| request | n | CPU ms mean | CPU ms median | SQL statements | CPU vs baseline | statuses |")
    print("|---|---:|---:|---:|---:|---:|---|")
    baseline = costs["baseline"]
    for label in ["baseline", "approve", "decide", *sorted(k for k in costs if k.startswith("claims"))]:
        if costs.get(label) and costs[label].cpu_ms:
            print(costs[label].row(label, None if label == "baseline" else baseline))
    reference = statistics.fmean(baseline.cpu_ms)
    goals = {"approve": Goal("<=", APPROVE_GOAL_MS, on="value", text=f"≤ {APPROVE_GOAL_MS:g} ms"), "decide": None}
    names = {"approve": "approve-and-issue", "decide": "claim decision"}
    figures = [
        Figure("request_cost", f"{names[label]} CPU, mean", statistics.fmean(costs[label].cpu_ms), "ms",
               "baseline CPU (ms, mean)", reference, goal)
        for label, goal in goals.items()
        if costs.get(label) and costs[label].cpu_ms
    ]  # fmt: skip
    if counted:
        figures.append(
            Figure("request_cost", "approve-and-issue instructions (callgrind)", counted["approve"] / 1e6,
                   "M instructions", "baseline (M instructions)", counted["baseline"] / 1e6)
        )  # fmt: skip
    return figures


if __name__ == "__main__":
    main()
