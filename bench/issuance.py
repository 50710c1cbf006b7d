"""Voucher issuance on PostgreSQL: a 10,000-row bulk upload, and single approvals over HTTP (1 and 16 clients).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/anything .venv/bin/python -m bench.issuance

Everything runs in its own database (``bench_issuance``, or ``BENCH_DB``; dropped, created and migrated at start);
no test or development database is touched. Setup: an agency with a program administrator and a reviewer, a published
program with a large annual cap and a per-entity cap, this year's budget opened (the tests'
``make_program``, ``bench.world``), and entity organisations with valid USCCs (``bulk_create``).

1. **Bulk**: for each mode (``valid_rows_only``: committed chunks of 500; ``all_or_nothing``: one transaction),
   a fresh set of ``--rows`` entities, a UTF-8 CSV (uscc,amount,memo) and, timed separately,
   ``bulk_issuance_create`` (decode, parse, validate, queue the pending issuances) and ``bulk_issuance_run``
   (what the Celery task runs). The queue is an in-memory Celery broker, so ``delay()`` is real but nothing
   consumes it. Then: every row succeeded, one voucher per row, and ``verify_ledger`` is clean.
2. **HTTP**: the real WSGI app under gunicorn on 127.0.0.1 (``--workers 4 --threads 4``, production settings,
   pooled connections, DEBUG off) with ``CELERY_TASK_ALWAYS_EAGER=1``: the issuance task runs right after the
   approval commits, *inside the same request*, so a 202 here means "approved and issued" and its latency
   covers both transactions. Pre-created submitted applications (``bulk_create``) are approved with
   ``POST /api/v1/voucher-applications/{id}/approve/`` (Bearer token of the reviewer, one ``Idempotency-Key``
   each) by 1 client, then by 16 client threads (``http.client``, keep-alive). Issuances/s counts the 202s
   whose issuance is ``succeeded`` in the database afterwards. Before each client count, the same number of
   requests goes to the baseline endpoint (``POST /api/v1/bench/baseline/``, ``voucher_service.api.baseline``:
   the same middleware and token authentication, one row inserted) in the same server, and the table gives each
   approval run's rate as a ratio of it, with p99/p50.

``--profile valid_rows_only`` (or ``all_or_nothing``) runs that bulk run under cProfile and prints where the time
goes. Each phase also reports its SQL statement count and the time spent waiting on them (execute wrapper); each
HTTP run reports gunicorn's CPU per issuance and samples ``pg_stat_activity``/``pg_locks`` (which row the sessions
queue on). ``--app module:callable`` serves another WSGI app, e.g. a patched variant for an A/B run.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.http_load import HttpResult, count_succeeded, run_http
from bench.plumbing import SqlStats, database_url, load_average, machine_facts, measured
from bench.sampling import machine_cpu, process_cpu_seconds, sampling
from bench.server import count_retries, gunicorn
from bench.summary import Figure, Goal, add_run_options, finish, parse
from bench.world import BENCH_DB, World, build_csv, create_applications, create_entities, create_world, prepare_database

MODES = ("valid_rows_only", "all_or_nothing")


@dataclass
class BulkResult:
    mode: str
    rows: int
    create_seconds: float
    run_seconds: float
    create_sql: SqlStats
    run_sql: SqlStats
    vouchers: int

    @property
    def total_seconds(self) -> float:
        return self.create_seconds + self.run_seconds


def run_bulk(world: World, mode: str, entities: list[Any], profile: bool) -> BulkResult:
    from voucher_service.vouchers.bulk import bulk_issuance_create, bulk_issuance_run
    from voucher_service.vouchers.models import BulkStatus, Voucher

    content = build_csv(entities)
    with measured() as (create_sql, create_elapsed):
        bulk = bulk_issuance_create(
            actor=world.admin, program=world.program, content=content, file_name=f"bench-{mode}.csv", mode=mode
        )
    profiler = cProfile.Profile() if profile else None
    with measured() as (run_sql, run_elapsed):
        if profiler is not None:
            profiler.enable()
        bulk = bulk_issuance_run(bulk_id=bulk.pk)
        if profiler is not None:
            profiler.disable()
    if profiler is not None:
        print(f"\n--- cProfile of bulk_issuance_run ({mode}), top functions by cumulative and by own time ---")
        stats = pstats.Stats(profiler, stream=sys.stdout).strip_dirs()
        stats.sort_stats("cumulative").print_stats(30)
        stats.sort_stats("tottime").print_stats(20)
    vouchers = Voucher.objects.filter(issuance__bulk=bulk).count()
    if bulk.status != BulkStatus.COMPLETED or bulk.succeeded_rows != len(entities) or vouchers != len(entities):
        raise SystemExit(
            f"bulk {mode}: status={bulk.status} succeeded={bulk.succeeded_rows} failed={bulk.failed_rows} "
            f"vouchers={vouchers}, expected {len(entities)} ({bulk.failure_message or 'no message'})"
        )
    return BulkResult(mode, len(entities), create_elapsed[0], run_elapsed[0], create_sql, run_sql, vouchers)


def verify() -> tuple[bool, str, float]:
    from ledger.verification import verify_ledger

    started = time.perf_counter()
    report = verify_ledger()
    seconds = time.perf_counter() - started
    summary = f"{report.entry_count} entries, {report.posting_count} postings"
    if not report.ok:
        summary += "\n" + report.render()
    return report.ok, summary, seconds


def bulk_table(results: list[BulkResult]) -> str:
    rows = [
        "| mode | rows | create s | create SQL (stmts / s) | run s | run SQL (stmts / s) | total s | rows/s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        rows.append(
            f"| {r.mode} | {r.rows:,} | {r.create_seconds:.2f} | {r.create_sql.statements:,} / "
            f"{r.create_sql.seconds:.2f} | {r.run_seconds:.2f} | {r.run_sql.statements:,} / {r.run_sql.seconds:.2f} "
            f"| **{r.total_seconds:.2f}** | {r.rows / r.total_seconds:,.0f} |"
        )
    return "\n".join(rows)


def http_table(results: list[HttpResult]) -> str:
    """One row per run; each approval run also as a ratio of the baseline run at the same client count."""
    rows = [
        "| endpoint | clients | sent | 201/202 + succeeded | seconds | per s | ratio to baseline | p50 ms | p99 ms "
        "| p99/p50 | app CPU ms/request | machine CPU busy | DB sessions active / waiting on a lock (avg) | retries "
        "| other | load at end |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    baselines = {r.clients: r for r in results if r.kind == "baseline"}
    for r in results:
        base = baselines.get(r.clients)
        ratio = f"{r.rate / base.rate:.2f}" if base is not None and base.rate and r.kind != "baseline" else "1"
        unexpected = sorted((status, n) for status, n in r.statuses.items() if status not in (201, 202))
        other = ", ".join(f"{status}×{n}" for status, n in unexpected) or "-"
        samples = max(1, r.db.samples) if r.db else 1
        active = r.db.active / samples if r.db else float("nan")
        waiting = r.db.lock_waits / samples if r.db else float("nan")
        cpu_ms = 1000 * r.app_cpu_seconds / max(1, r.succeeded)
        spread = r.percentile(0.99) / r.percentile(0.5) if r.latencies_ms else float("nan")
        rows.append(
            f"| {r.kind} | {r.clients} | {sum(r.statuses.values()):,} | {r.succeeded:,} | {r.seconds:.1f} "
            f"| **{r.rate:,.1f}** | {ratio} | {r.percentile(0.5):.1f} | {r.percentile(0.99):.1f} | {spread:.1f} "
            f"| {cpu_ms:.1f} | {r.machine_busy:.0%} | {active:.1f} / {waiting:.1f} | {r.retries} | {other} | {r.load} |"
        )
    return "\n".join(rows)


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000, help="rows per bulk upload (default 10,000)")
    parser.add_argument("--modes", nargs="*", choices=MODES, default=list(MODES))
    parser.add_argument("--profile", choices=MODES, help="run that mode's bulk_issuance_run under cProfile")
    parser.add_argument("--baseline-count", type=int, default=300, help="approvals at 1 client")
    parser.add_argument("--count", type=int, default=2_000, help="approvals at --clients clients")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--max-seconds", type=float, default=20.0, help="cap on each HTTP run")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument(
        "--app", default="voucher_service.wsgi:application", help="WSGI app for gunicorn (e.g. a patched variant)"
    )
    parser.add_argument("--target-seconds", type=float, default=30.0, help="bulk total to meet per mode")
    return add_run_options(parser)


# Both bulk modes and both HTTP client counts, on a few hundred rows and requests.
QUICK = ["--rows", "300", "--baseline-count", "40", "--count", "160", "--max-seconds", "10"]


def main(argv: list[str] | None = None) -> None:
    args = parse(parser(), QUICK, argv)
    finish(args, measure(args))


def measure(args: argparse.Namespace) -> list[Figure]:
    base_url = os.environ.get("DATABASE_URL", "")
    if not base_url.startswith("postgres"):
        raise SystemExit("Set DATABASE_URL to a PostgreSQL server (the bench creates its own database).")

    began = time.perf_counter()
    print(f"machine: {machine_facts(base_url)}")
    print(f"load average at start: {load_average()}", flush=True)
    data_dir = tempfile.mkdtemp(prefix="bench-issuance-")
    try:
        migrate_seconds = prepare_database(base_url, data_dir)
        print(f"database {BENCH_DB}: created and migrated in {migrate_seconds:.1f} s", flush=True)
        warmup = 2 * args.clients
        http_entities = 0 if args.skip_http else warmup + args.baseline_count + args.count
        world = create_world(annual_cap_yuan=100 * (args.rows * len(args.modes) + http_entities) + 1_000_000)

        bulk_results: list[BulkResult] = []
        for index, mode in enumerate(args.modes):
            started = time.perf_counter()
            entities = create_entities(1_000_000 * (index + 1), args.rows)
            print(f"setup: {len(entities):,} entities for {mode} in {time.perf_counter() - started:.1f} s", flush=True)
            result = run_bulk(world, mode, entities, profile=args.profile == mode)
            bulk_results.append(result)
            print(
                f"bulk {mode:<16} create {result.create_seconds:6.2f} s  run {result.run_seconds:6.2f} s  "
                f"total {result.total_seconds:6.2f} s  ({result.vouchers:,} vouchers)",
                flush=True,
            )
        ok, summary, verify_seconds = verify()
        print(f"verify_ledger after bulk: {'OK' if ok else 'FAILED'} ({summary}) in {verify_seconds:.1f} s")
        if not ok:
            raise SystemExit("the ledger is inconsistent after the bulk runs")

        http_results: list[HttpResult] = []
        if not args.skip_http:
            http_results = http_phase(args, base_url, data_dir, world, warmup)
            ok, summary, verify_seconds = verify()
            print(f"verify_ledger after HTTP: {'OK' if ok else 'FAILED'} ({summary}) in {verify_seconds:.1f} s")
            if not ok:
                raise SystemExit("the ledger is inconsistent after the HTTP runs")

        print()
        print(bulk_table(bulk_results))
        if http_results:
            print()
            print(http_table(http_results))
        print()
        print(f"load average at end: {load_average()}; whole benchmark {time.perf_counter() - began:.0f} s")
        slow = [r.mode for r in bulk_results if r.total_seconds > args.target_seconds]
        if slow:
            print(f"OVER TARGET: {', '.join(slow)} took more than {args.target_seconds:.0f} s for {args.rows:,} rows")
        return figures(args, bulk_results, http_results)
    finally:
        from django.db import connections

        connections.close_all()
        shutil.rmtree(data_dir, ignore_errors=True)


GOAL_ROWS = 10_000  # issue 16: 10,000 rows in at most --target-seconds (30 s)
GOAL_CLIENTS, GOAL_RATIO, GOAL_SPREAD = 16, 0.3, 5.0  # at 16 clients: >= 0.3 of the baseline, p99/p50 < 5


def figures(args: argparse.Namespace, bulk: list[BulkResult], http: list[HttpResult]) -> list[Figure]:
    """Bulk seconds against the target (scaled to the rows when not 10,000); each approval run's rate against the
    baseline endpoint at the same client count; p99/p50 of the run at --clients."""
    limit = args.target_seconds * args.rows / GOAL_ROWS
    scaled = "" if args.rows == GOAL_ROWS else f" ({args.target_seconds:g} s per {GOAL_ROWS:,} rows)"
    out = [
        Figure("issuance", f"bulk {r.rows:,} rows, {r.mode}", r.total_seconds, "s",
               goal=Goal("<=", limit, on="value", text=f"≤ {limit:g} s{scaled}"))
        for r in bulk
    ]  # fmt: skip
    baselines = {r.clients: r.rate for r in http if r.kind == "baseline"}
    for r in http:
        if r.kind == "baseline":
            continue
        clients = f"{r.clients} client{'s' if r.clients > 1 else ''}"
        goal = Goal(">=", GOAL_RATIO, text=f"≥ {GOAL_RATIO}× baseline") if r.clients == GOAL_CLIENTS else None
        out.append(
            Figure("issuance", f"approve+issue/s, {clients}", r.rate, "/s", "baseline endpoint req/s",
                   baselines.get(r.clients), goal)
        )  # fmt: skip
        if r.clients == args.clients:
            spread = r.percentile(0.99) / r.percentile(0.5) if r.latencies_ms else float("nan")
            spread_goal = Goal("<", GOAL_SPREAD, on="value", text=f"< {GOAL_SPREAD:g}")
            out.append(
                Figure("issuance", f"approve+issue p99/p50, {clients}", spread, "",
                       goal=spread_goal if r.clients == GOAL_CLIENTS else None)
            )  # fmt: skip
    return out


def http_phase(args: argparse.Namespace, base_url: str, data_dir: str, world: World, warmup: int) -> list[HttpResult]:
    from accounts.tokens import token_issue

    entities = create_entities(9_000_000, warmup + args.baseline_count + args.count)
    ids = create_applications(world, entities)
    _, token = token_issue(actor=world.admin, user=world.reviewer, name="bench")
    log_path = Path(data_dir) / "gunicorn.log"
    results = []
    url = database_url(base_url, BENCH_DB)
    with gunicorn(url, data_dir, args.app, args.workers, args.threads, log_path) as (port, server_pid):
        print(f"gunicorn {args.app} on 127.0.0.1:{port} (--workers {args.workers} --threads {args.threads}, eager)")
        warm = run_http(port, token, ids[:warmup], args.clients, args.max_seconds)  # connects every worker
        if warm.statuses.get(202, 0) != warmup:
            raise SystemExit(f"warm-up approvals failed: {dict(warm.statuses)}\n{log_path.read_text()[-3000:]}")
        warm = run_http(port, token, list(range(warmup)), args.clients, args.max_seconds, baseline=True)
        if warm.statuses.get(201, 0) != warmup:
            raise SystemExit(f"warm-up baseline requests failed: {dict(warm.statuses)}\n{log_path.read_text()[-3000:]}")
        one, many = ids[warmup : warmup + args.baseline_count], ids[warmup + args.baseline_count :]
        # Each client count: the baseline endpoint first, then the approvals, back to back in the same server.
        batches = [(1, one, True), (1, one, False), (args.clients, many, True), (args.clients, many, False)]
        for clients, batch, baseline in batches:
            retries_before = count_retries(log_path)
            cpu_before, machine_before = process_cpu_seconds(server_pid), machine_cpu()
            with sampling(url) as db:
                result = run_http(port, token, batch, clients, args.max_seconds, baseline=baseline)
            machine_after = machine_cpu()
            result.app_cpu_seconds = process_cpu_seconds(server_pid) - cpu_before
            result.machine_busy = (machine_after[0] - machine_before[0]) / max(1, machine_after[1] - machine_before[1])
            result.db, result.load = db, load_average()
            if not baseline:
                result.succeeded = count_succeeded(result.accepted_ids)
            result.retries = count_retries(log_path) - retries_before
            results.append(result)
            print(
                f"http {result.kind:<8} c={clients:<3} {result.rate:7.1f} /s  p50 {result.percentile(0.5):.1f} ms  "
                f"p99 {result.percentile(0.99):.1f} ms  statuses {dict(result.statuses)}  retries {result.retries}\n"
                f"         app CPU {1000 * result.app_cpu_seconds / max(1, result.succeeded):.1f} ms/request, "
                f"machine CPU busy {result.machine_busy:.0%}; {db.summary()}",
                flush=True,
            )
    errors = [line for line in log_path.read_text(errors="replace").splitlines() if "ERROR" in line]
    if errors:
        print(f"server log: {len(errors)} ERROR lines, first: {errors[0][:300]}")
    return results


if __name__ == "__main__":
    main()
