"""Voucher issuance on PostgreSQL: a 10,000-row bulk upload, and single approvals over HTTP (1 and 16 clients).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/anything .venv/bin/python bench/issuance_bench.py

Everything runs in its own database (``bench_issuance``, dropped, created and migrated at start); no test or
development database is touched. Setup: an agency with a program administrator and a reviewer, a published
program with a large annual cap and a per-entity cap, this year's budget opened (as the voucher tests'
``make_program`` does), and entity organisations with valid USCCs (``bulk_create``).

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
   whose issuance is ``succeeded`` in the database afterwards.

``--profile valid_rows_only`` (or ``all_or_nothing``) runs that bulk run under cProfile and prints where the time
goes. Each phase also reports its SQL statement count and the time spent waiting on them (execute wrapper); each
HTTP run reports gunicorn's CPU per issuance and samples ``pg_stat_activity``/``pg_locks`` (which row the sessions
queue on). ``--app module:callable`` serves another WSGI app, e.g. a patched variant for an A/B run.
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import http.client
import io
import os
import pstats
import queue
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from bench_plumbing import database_url, load_average, machine_facts, recreate_database

ROOT = Path(__file__).resolve().parent.parent
BENCH_DB = "bench_issuance"
SECRET_KEY = "bench-only-secret-key-not-for-production-0123456789abcdef"  # noqa: S105 (throwaway bench DB)
MODES = ("valid_rows_only", "all_or_nothing")
BULK_AMOUNT_YUAN = "100.00"
APPLICATION_AMOUNT_FEN = 5_000  # 50 yuan
ENTITY_JURISDICTION = "640104"  # Yinchuan, Xingqing district: inside the Ningxia agency's 640000
AGENCY_JURISDICTION = "640000"


# --- Plumbing ---------------------------------------------------------------------------------------------------


def setup_django(url: str, data_dir: str) -> None:
    """This process: no pool (one thread), an in-memory Celery broker nobody consumes, caches in a temp dir."""
    os.environ["DATABASE_URL"] = url
    os.environ["DB_POOL"] = "0"
    os.environ["DATA_DIR"] = data_dir
    os.environ["CELERY_BROKER_URL"] = "memory://localhost/"
    os.environ["CELERY_RESULT_BACKEND"] = "cache+memory://"
    os.environ.pop("CELERY_TASK_ALWAYS_EAGER", None)
    os.environ.setdefault("SECRET_KEY", SECRET_KEY)
    os.environ["DJANGO_SETTINGS_MODULE"] = "voucher_service.settings"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


@dataclass
class SqlStats:
    """Counts statements and the wall time spent inside ``cursor.execute`` (round trip + server work)."""

    statements: int = 0
    seconds: float = 0.0

    def __call__(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.statements += 1
            self.seconds += time.perf_counter() - started


@contextmanager
def measured() -> Iterator[tuple[SqlStats, list[float]]]:
    """Yields (sql stats, [elapsed seconds]); the elapsed list is filled when the block ends."""
    from django.db import connection

    stats, elapsed = SqlStats(), [0.0]
    started = time.perf_counter()
    with connection.execute_wrapper(stats):
        yield stats, elapsed
    elapsed[0] = time.perf_counter() - started


# --- Setup --------------------------------------------------------------------------------------------------


@dataclass
class World:
    program: Any
    admin: Any
    reviewer: Any
    applicant: Any


def prepare_database(base_url: str, data_dir: str) -> float:
    """Drop, create and migrate ``bench_issuance``; set Django up against it. Returns the seconds it took."""
    started = time.perf_counter()
    recreate_database(base_url, BENCH_DB)
    setup_django(database_url(base_url, BENCH_DB), data_dir)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return time.perf_counter() - started


def create_world(annual_cap_yuan: int) -> World:
    """An agency with its admin and reviewer, and a published program with this year's budget open."""
    from django.utils import timezone

    from accounts.models import Jurisdiction, Membership, Organization, OrganizationKind, Role, User
    from voucher_service.programs.budgets import budget_open
    from voucher_service.programs.services import program_create, program_publish

    agency = Organization.objects.create(
        name="宁夏回族自治区发展和改革委员会（基准）",
        kind=OrganizationKind.AGENCY,
        jurisdiction=Jurisdiction.objects.get(code=AGENCY_JURISDICTION),
    )
    admin = User.objects.create_user(username="bench_admin", password=None)
    reviewer = User.objects.create_user(username="bench_reviewer", password=None)
    applicant = User.objects.create_user(username="bench_applicant", password=None)
    Membership.objects.create(user=admin, organization=agency, role=Role.PROGRAM_ADMIN)
    Membership.objects.create(user=reviewer, organization=agency, role=Role.REVIEWER)
    today = timezone.localdate()
    program = program_create(
        actor=admin,
        code="bench",
        name="基准算力券",
        jurisdiction=agency.jurisdiction,
        issuing_agency=agency,
        rules={
            "annual_cap": f"{annual_cap_yuan}.00",
            "eligible_categories": ["tech_sme", "university", "maker"],
            "provider_scope": {"mode": "in_jurisdiction"},
            "per_entity_annual_cap": "1000.00",
        },
        valid_from=date(today.year, 1, 1),
        valid_until=today + timedelta(days=400),
    )
    program = program_publish(actor=admin, program=program)
    budget_open(actor=admin, program=program, year=today.year)
    return World(program=program, admin=admin, reviewer=reviewer, applicant=applicant)


def valid_uscc(seed: int) -> str:
    from stdnum.cn import uscc as uscc_number

    body = f"91{ENTITY_JURISDICTION}{seed:09d}"  # 9: industry & commerce, 1: enterprise
    return body + uscc_number.calc_check_digit(body)


def create_entities(first_seed: int, count: int) -> list[Any]:
    from accounts.models import EntityCategory, Jurisdiction, Organization, OrganizationKind

    jurisdiction = Jurisdiction.objects.get(code=ENTITY_JURISDICTION)
    return Organization.objects.bulk_create(
        [
            Organization(
                name=f"基准科技有限公司 {seed}",
                kind=OrganizationKind.ENTITY,
                category=EntityCategory.TECH_SME,
                uscc=valid_uscc(seed),
                jurisdiction=jurisdiction,
            )
            for seed in range(first_seed, first_seed + count)
        ],
        batch_size=2000,
    )


def build_csv(entities: list[Any]) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(["uscc", "amount", "memo"])
    for n, entity in enumerate(entities, start=1):
        writer.writerow([entity.uscc, BULK_AMOUNT_YUAN, f"基准批量发放 第{n}行"])
    return out.getvalue().encode("utf-8")


# --- 1. Bulk ------------------------------------------------------------------------------------------------


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


# --- 2. HTTP ------------------------------------------------------------------------------------------------


@dataclass
class HttpResult:
    clients: int
    seconds: float
    latencies_ms: list[float]
    statuses: Counter[int]
    accepted_ids: list[int]
    succeeded: int = 0
    retries: int = 0
    db: DbSample | None = None
    app_cpu_seconds: float = 0.0  # gunicorn master + workers, user + system
    machine_busy: float = 0.0  # share of all CPUs busy (everything on the machine) during the run

    @property
    def rate(self) -> float:
        return self.succeeded / self.seconds if self.seconds else 0.0

    def percentile(self, fraction: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def create_applications(world: World, entities: list[Any]) -> list[int]:
    """Submitted applications, written directly for setup speed (the HTTP phase measures approval + issuance)."""
    from voucher_service.programs.selectors import current_fiscal_year
    from voucher_service.vouchers.models import VoucherApplication

    year = current_fiscal_year()
    created = VoucherApplication.objects.bulk_create(
        [
            VoucherApplication(
                program=world.program,
                entity=entity,
                requested_amount=APPLICATION_AMOUNT_FEN,
                purpose="基准：单笔审批发放",
                fiscal_year=year,
                eligibility=[],
                submitted_by=world.applicant,
            )
            for entity in entities
        ],
        batch_size=2000,
    )
    return [application.pk for application in created]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def gunicorn(
    url: str, data_dir: str, app: str, workers: int, threads: int, log_path: Path
) -> Iterator[tuple[int, int]]:
    """Serve the real app on a free loopback port; always stop it (SIGTERM, then SIGKILL) on the way out."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CELERY_")}
    env.update(
        DATABASE_URL=url,
        SECRET_KEY=os.environ.get("SECRET_KEY", SECRET_KEY),
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="0",
        DEBUG="0",
        CELERY_TASK_ALWAYS_EAGER="1",
        DATA_DIR=data_dir,
        LOG_LEVEL="INFO",  # core.transactions logs each deadlock/serialisation retry at INFO: we count them
        DJANGO_SETTINGS_MODULE="voucher_service.settings",
    )
    env.pop("DB_POOL", None)  # production default: Django's psycopg pool
    command = [
        str(Path(sys.executable).parent / "gunicorn"),
        app,
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--log-level",
        "warning",
    ]
    with log_path.open("wb") as log:
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until_up(port, server, log_path)
        yield port, server.pid
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)


def wait_until_up(port: int, server: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited with {server.returncode}:\n{log_path.read_text()[-3000:]}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/healthz", headers={"Host": "127.0.0.1"})
            connection.getresponse().read()
            connection.close()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"gunicorn did not answer within 60 s:\n{log_path.read_text()[-3000:]}")


def approve_client(
    port: int,
    token: str,
    work: queue.Queue[int],
    deadline_holder: list[float],
    start: threading.Barrier,
    out: list[tuple[int, int, float]],
) -> None:
    """Approve applications from ``work`` until it is empty or the deadline passes; one keep-alive connection."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    start.wait()
    try:
        while time.perf_counter() < deadline_holder[0]:
            try:
                application_id = work.get_nowait()
            except queue.Empty:
                return
            headers = {
                "Host": "127.0.0.1",
                "Authorization": f"Bearer {token}",
                "Idempotency-Key": str(uuid.uuid4()),
                "Content-Type": "application/json",
            }
            started = time.perf_counter()
            try:
                connection.request(
                    "POST", f"/api/v1/voucher-applications/{application_id}/approve/", body=b"{}", headers=headers
                )
                response = connection.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                status = 0
            out.append((application_id, status, (time.perf_counter() - started) * 1000))
    finally:
        connection.close()


@dataclass
class DbSample:
    """What the bench database's sessions were doing, sampled every 50 ms during a run."""

    samples: int = 0
    active: int = 0
    lock_waits: int = 0
    waits: Counter[str] = field(default_factory=Counter)
    # Row-lock queues (not granted "tuple" locks) by table: which row everybody waits for.
    queued_on: Counter[str] = field(default_factory=Counter)

    def summary(self) -> str:
        if not self.samples:
            return "no samples"
        top = ", ".join(f"{name} {n / self.samples:.1f}" for name, n in self.waits.most_common(4))
        tables = ", ".join(f"{name} {n / self.samples:.1f}" for name, n in self.queued_on.most_common(3))
        return (
            f"sessions active {self.active / self.samples:.1f}, of them waiting on a lock "
            f"{self.lock_waits / self.samples:.1f} (avg; top waits: {top or '-'}; row-lock queue by table: "
            f"{tables or '-'})"
        )


@contextmanager
def sampling(url: str) -> Iterator[DbSample]:
    import psycopg

    sample, stop = DbSample(), threading.Event()
    query = (
        "SELECT state, wait_event_type, wait_event FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
    )

    queued = (
        "SELECT relation::regclass::text, count(*) FROM pg_locks WHERE NOT granted AND locktype = 'tuple' "
        "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) GROUP BY 1"
    )

    def poll() -> None:
        with psycopg.connect(url, autocommit=True) as connection:
            while not stop.wait(0.05):
                rows = connection.execute(query).fetchall()
                for table, count in connection.execute(queued).fetchall():
                    sample.queued_on[table] += count
                sample.samples += 1
                for state, wait_type, wait_event in rows:
                    if state == "active":
                        sample.active += 1
                        if wait_type:
                            sample.waits[f"{wait_type}:{wait_event}"] += 1
                        if wait_type == "Lock":
                            sample.lock_waits += 1

    thread = threading.Thread(target=poll, daemon=True)
    thread.start()
    try:
        yield sample
    finally:
        stop.set()
        thread.join(timeout=10)


def process_cpu_seconds(root_pid: int) -> float:
    """User + system CPU of ``root_pid`` and its direct children (gunicorn's master and workers)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        pid, ppid = int(stat.parent.name), int(fields[1])
        if root_pid in (pid, ppid):
            total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def machine_cpu() -> tuple[int, int]:
    """(busy, total) jiffies over all CPUs since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def run_http(port: int, token: str, application_ids: list[int], clients: int, max_seconds: float) -> HttpResult:
    work: queue.Queue[int] = queue.Queue()
    for application_id in application_ids:
        work.put(application_id)
    start = threading.Barrier(clients + 1)
    deadline = [float("inf")]
    outputs: list[list[tuple[int, int, float]]] = [[] for _ in range(clients)]
    threads = [
        threading.Thread(target=approve_client, args=(port, token, work, deadline, start, outputs[n]), daemon=True)
        for n in range(clients)
    ]
    for thread in threads:
        thread.start()
    started = time.perf_counter()
    deadline[0] = started + max_seconds
    start.wait()
    for thread in threads:
        thread.join(timeout=max_seconds + 120)
    seconds = time.perf_counter() - started
    done = [row for output in outputs for row in output]
    return HttpResult(
        clients=clients,
        seconds=seconds,
        latencies_ms=[latency for _, status, latency in done if status == 202],
        statuses=Counter(status for _, status, _ in done),
        accepted_ids=[application_id for application_id, status, _ in done if status == 202],
    )


def count_succeeded(application_ids: list[int]) -> int:
    from voucher_service.vouchers.models import Issuance, IssuanceStatus

    return Issuance.objects.filter(application_id__in=application_ids, status=IssuanceStatus.SUCCEEDED).count()


def count_retries(log_path: Path) -> int:
    return sum(1 for line in log_path.read_text(errors="replace").splitlines() if " retrying " in line)


# --- Report -------------------------------------------------------------------------------------------------


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
    rows = [
        "| clients | approvals sent | 202 + succeeded | seconds | issuances/s | p50 ms | p99 ms "
        "| app CPU ms/issuance | machine CPU busy | DB sessions active / waiting on a lock (avg) | retries | other |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        other = ", ".join(f"{status}×{n}" for status, n in sorted(r.statuses.items()) if status != 202) or "-"
        samples = max(1, r.db.samples) if r.db else 1
        active = r.db.active / samples if r.db else float("nan")
        waiting = r.db.lock_waits / samples if r.db else float("nan")
        cpu_ms = 1000 * r.app_cpu_seconds / max(1, r.succeeded)
        rows.append(
            f"| {r.clients} | {sum(r.statuses.values()):,} | {r.succeeded:,} | {r.seconds:.1f} | **{r.rate:,.0f}** "
            f"| {r.percentile(0.5):.1f} | {r.percentile(0.99):.1f} | {cpu_ms:.0f} "
            f"| {r.machine_busy:.0%} | {active:.1f} / {waiting:.1f} | {r.retries} | {other} |"
        )
    return "\n".join(rows)


def main() -> None:
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
    args = parser.parse_args()
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
    finally:
        from django.db import connections

        connections.close_all()
        shutil.rmtree(data_dir, ignore_errors=True)


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
        batches = [(1, ids[warmup : warmup + args.baseline_count]), (args.clients, ids[warmup + args.baseline_count :])]
        for clients, batch in batches:
            retries_before = count_retries(log_path)
            cpu_before, machine_before = process_cpu_seconds(server_pid), machine_cpu()
            with sampling(url) as db:
                result = run_http(port, token, batch, clients, args.max_seconds)
            machine_after = machine_cpu()
            result.app_cpu_seconds = process_cpu_seconds(server_pid) - cpu_before
            result.machine_busy = (machine_after[0] - machine_before[0]) / max(1, machine_after[1] - machine_before[1])
            result.db = db
            result.succeeded = count_succeeded(result.accepted_ids)
            result.retries = count_retries(log_path) - retries_before
            results.append(result)
            print(
                f"http c={clients:<3} {result.rate:7.1f} issuances/s  p50 {result.percentile(0.5):.1f} ms  "
                f"p99 {result.percentile(0.99):.1f} ms  statuses {dict(result.statuses)}  retries {result.retries}\n"
                f"         app CPU {1000 * result.app_cpu_seconds / max(1, result.succeeded):.0f} ms/issuance, "
                f"machine CPU busy {result.machine_busy:.0%}; {db.summary()}",
                flush=True,
            )
    errors = [line for line in log_path.read_text(errors="replace").splitlines() if "ERROR" in line]
    if errors:
        print(f"server log: {len(errors)} ERROR lines, first: {errors[0][:300]}")
    return results


if __name__ == "__main__":
    main()
