"""Auditor reports at scale (issue 14), on PostgreSQL:

1. **Journal export**: 1,000,000 postings (500,000 entries) streamed to a CSV file by the service's own writer
   (``reports.writers.csv_chunks`` over ``JournalReport``, what both the HTTP export and the background export
   run), in a child process whose peak RSS is measured, against ``psql \\copy`` of the same rows (the same SQL,
   Django's, in the same order) in the same run. Goals: within 3x of ``\\copy``, peak RSS under 200 MB.
2. **As-of balance**: on an account with 1,000,000 postings, the balance as of a moment (the balance-after of its
   last posting by then, ``ledger.history.balance_as_of_expression``: one index lookup) against its current
   balance (the account row). Goal: within 5x. The sum over history (``ledger.history.totals_of``) is shown too.

Run: ``make bench-reports`` (needs DATABASE_URL pointing at a PostgreSQL server whose role may create databases).
The journal is loaded into its own database, ``bench_reports`` (dropped and created at start), in bulk with SQL
and the journal's user triggers disabled during the load: the world is 1,000,000 entries, each crediting the hot
account 1.00 yuan and debiting one of 100 counter accounts, recorded over 20 days, sealed (placeholder digests of
the right shape: the verifier is not what is measured). The export takes the first 10 days: 500,000 entries.
``BENCH_REPORTS_DB`` names another database (two runs on one server), ``--entries`` (or ``BENCH_REPORTS_ENTRIES``)
a smaller world.

"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bench.plumbing import bench_db, database_url, machine_facts, recreate_database, setup_django
from bench.summary import Figure, Goal, add_run_options, finish, parse

# Overridable so that two people's runs on one server do not drop each other's database, and for a quick try.
BENCH_DB = os.environ.get("BENCH_REPORTS_DB") or bench_db("bench_reports")
ENTRIES = int(os.environ.get("BENCH_REPORTS_ENTRIES", "1000000"))
COUNTERS = 100
DAYS = 20
EXPORT_DAYS = 10  # the first half: 500,000 entries, 1,000,000 postings
BASE = datetime(2026, 1, 1, tzinfo=ZoneInfo("Asia/Shanghai"))  # local midnight: the export's days are local
LOOKUPS = 300
AMOUNT = 100  # fen per posting


# --- The world -------------------------------------------------------------------------------------------------


def load_world(entries: int = ENTRIES) -> dict[str, Any]:
    """Migrate, create the accounts, and load the journal in bulk. Returns the hot account's id."""
    from django.core.management import call_command
    from django.db import connection, transaction

    from ledger import services
    from ledger.models import Account, ChainHead, ChainLink, JournalEntry, Posting

    call_command("migrate", verbosity=0)
    hot = services.account_create(code="bench:hot", name="hot account")
    counters = [services.account_create(code=f"bench:c{n:03d}", name="counter").pk for n in range(COUNTERS)]
    entry_t, posting_t, link_t = JournalEntry._meta.db_table, Posting._meta.db_table, ChainLink._meta.db_table
    seconds_per_entry = DAYS * 86_400 / entries
    with transaction.atomic(), connection.cursor() as cursor:
        for table in (entry_t, posting_t, link_t):
            cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
    # The rows, in one transaction (the foreign keys are checked at its commit); the triggers back on after it.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {entry_t} (id, idempotency_key, request_fingerprint, currency, effective_at, recorded_at,
                                   memo, metadata, body_digest)
            SELECT i, 'bench:' || i, md5(i::text) || md5(i::text), 'CNY', t, t, 'bench entry ' || i, '{{}}'::jsonb,
                   encode(sha256(convert_to('entry ' || i, 'UTF8')), 'hex')
              FROM (SELECT i, %s::timestamptz + (i * %s) * interval '1 second' AS t
                      FROM generate_series(1, %s) AS i) AS s
            """,
            [BASE, seconds_per_entry, entries],
        )
        cursor.execute(
            f"""
            INSERT INTO {posting_t} (entry_id, account_id, direction, amount, account_version, balance_after,
                                     recorded_at)
            SELECT e.id, %s, 'credit', %s, e.id, e.id * %s, e.recorded_at FROM {entry_t} AS e
            UNION ALL
            SELECT e.id, (%s::bigint[])[1 + e.id %% %s], 'debit', %s, (e.id - 1) / %s + 1,
                   -((e.id - 1) / %s + 1) * %s, e.recorded_at
              FROM {entry_t} AS e
            """,
            [hot.pk, AMOUNT, AMOUNT, counters, COUNTERS, AMOUNT, COUNTERS, COUNTERS, AMOUNT],
        )
        cursor.execute(
            f"""
            INSERT INTO {link_t} (position, entry_id, prev_hash, hash, sealed_at)
            SELECT id, id, encode(sha256(convert_to('link ' || (id - 1), 'UTF8')), 'hex'),
                   encode(sha256(convert_to('link ' || id, 'UTF8')), 'hex'), recorded_at
              FROM {entry_t}
            """
        )
        cursor.execute(f"SELECT setval(pg_get_serial_sequence('{entry_t}', 'id'), %s)", [entries])
        Account.objects.filter(pk=hot.pk).update(posted_credits=entries * AMOUNT, version=entries)
        per_counter = entries // COUNTERS
        Account.objects.filter(pk__in=counters).update(posted_debits=per_counter * AMOUNT, version=per_counter)
        last = ChainLink.objects.order_by("-position").first()
        if last is not None:
            ChainHead.objects.update(height=last.position, head_hash=last.hash)
    with transaction.atomic(), connection.cursor() as cursor:
        for table in (entry_t, posting_t, link_t):
            cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {"hot": hot.pk}


# --- 1. The export ---------------------------------------------------------------------------------------------


def export_context() -> Any:
    from django.contrib.auth import get_user_model

    from voucher_service.reports.catalog import REPORTS
    from voucher_service.reports.runner import build_context, validated
    from voucher_service.reports.scope import report_scope

    staff, _created = get_user_model().objects.get_or_create(username="bench_staff", defaults={"is_staff": True})
    report = REPORTS["journal"]
    last_day = (BASE + timedelta(days=EXPORT_DAYS - 1)).date().isoformat()
    params = validated(report, {"date_from": BASE.date().isoformat(), "date_to": last_day})
    context = build_context(report, staff, report_scope(staff), params, None)
    return report, context


def export_child(path: str) -> None:
    """In a child process: write the journal export to ``path``; print rows, seconds and RSS before and after."""
    from voucher_service.reports.writers import csv_chunks

    report, context = export_context()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    size = 0
    with open(path, "wb") as out:
        for chunk in csv_chunks(report, context):
            size += len(chunk)
            out.write(chunk)
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "bytes": size, "rss_before_kb": before}))


def copy_sql() -> str:
    """The export's own SQL (Django's, with its parameters inlined), for psql's \\copy."""
    from django.db import connection

    report, context = export_context()
    sql, params = report.postings(context).query.sql_with_params()
    with connection.cursor() as cursor:
        composed = cursor.mogrify(sql, params)
    return " ".join(composed.split())


def measure_export(url: str) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="bench-reports-"))
    ours, theirs = workdir / "journal.csv", workdir / "copy.csv"
    env = {**os.environ, "DATABASE_URL": url}
    child = subprocess.Popen(
        [sys.executable, "-m", "bench.reports", "--export-child", str(ours)], env=env, stdout=subprocess.PIPE
    )
    out, _err = child.communicate()
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    if child.returncode != 0:
        raise SystemExit(f"export child failed ({child.returncode})")
    result = json.loads(out.decode().strip().splitlines()[-1])
    statement = copy_sql()
    started = time.perf_counter()
    subprocess.run(
        ["psql", url, "-X", "-q", "-c", f"\\copy ({statement}) TO '{theirs}' WITH (FORMAT csv)"],
        check=True,
    )
    copy_seconds = time.perf_counter() - started
    rows = sum(1 for _ in theirs.open("rb"))
    exported = sum(1 for _ in ours.open("rb")) - 1  # the header
    facts = {
        "rows_exported": exported,
        "rows_copied": rows,
        "export_seconds": result["seconds"],
        "export_bytes": result["bytes"],
        "copy_seconds": copy_seconds,
        "copy_bytes": theirs.stat().st_size,
        "ratio": result["seconds"] / copy_seconds,
        "peak_rss_mb": usage.ru_maxrss / 1024,
        "rss_before_export_mb": result["rss_before_kb"] / 1024,
    }
    for path in (ours, theirs):
        path.unlink()
    workdir.rmdir()
    return facts


# --- 2. As-of balance ------------------------------------------------------------------------------------------


def _timed(calls: list[Any]) -> list[float]:
    out = []
    for call in calls:
        started = time.perf_counter()
        call()
        out.append((time.perf_counter() - started) * 1000)
    return out


def measure_as_of(hot: int, entries: int = ENTRIES) -> dict[str, Any]:
    import random

    from ledger.history import balance_as_of_expression, totals_of
    from ledger.models import Account

    rng = random.Random(14)
    moments = [BASE + timedelta(seconds=rng.uniform(0, DAYS * 86_400)) for _ in range(LOOKUPS)]
    seconds_per_entry = DAYS * 86_400 / entries
    checks = []

    def as_of(moment: datetime) -> Any:
        def call() -> None:
            value = (
                Account.objects.filter(pk=hot)
                .annotate(b=balance_as_of_expression("pk", moment))
                .values_list("b", flat=True)
                .get()
            )
            checks.append((moment, value))

        return call

    def current() -> None:
        credits, debits = Account.objects.filter(pk=hot).values_list("posted_credits", "posted_debits").get()
        assert credits - debits == entries * AMOUNT

    current()  # warm
    as_of(moments[0])()
    now_ms = _timed([current] * LOOKUPS)
    then_ms = _timed([as_of(moment) for moment in moments])
    for moment, value in checks[1:]:
        expected = int((moment - BASE).total_seconds() / seconds_per_entry) * AMOUNT
        assert abs((value or 0) - expected) <= AMOUNT, (moment, value, expected)
    sums_ms = _timed([lambda m=m: totals_of(hot, m) for m in moments[:5]])
    return {
        "current_ms_median": statistics.median(now_ms),
        "as_of_ms_median": statistics.median(then_ms),
        "as_of_ms_p95": sorted(then_ms)[int(0.95 * len(then_ms))],
        "ratio": statistics.median(then_ms) / statistics.median(now_ms),
        "sum_over_history_ms_median": statistics.median(sums_ms),
    }


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=ENTRIES, help="journal entries loaded (BENCH_REPORTS_ENTRIES)")
    return add_run_options(parser)


QUICK = ["--entries", "20000"]

EXPORT_GOAL, RSS_GOAL_MB, AS_OF_GOAL = 3.0, 200.0, 5.0  # issue 14: within 3x of \copy, under 200 MB, within 5x


def main(argv: list[str] | None = None) -> None:
    given = sys.argv[1:] if argv is None else argv
    if len(given) == 2 and given[0] == "--export-child":  # measure_export's child process
        setup_django(os.environ["DATABASE_URL"])
        export_child(given[1])
        return
    args = parse(parser(), QUICK, given)
    finish(args, measure(args))


def measure(args: argparse.Namespace) -> list[Figure]:
    entries = args.entries
    base_url = os.environ.get("DATABASE_URL", "")
    if not base_url.startswith("postgres"):
        raise SystemExit("Set DATABASE_URL to a PostgreSQL server (the bench creates its own database).")
    url = database_url(base_url, BENCH_DB)
    recreate_database(base_url, BENCH_DB)
    setup_django(url)
    started = time.perf_counter()
    world = load_world(entries)
    load_seconds = time.perf_counter() - started
    print(f"# bench.reports  {datetime.now(UTC):%Y-%m-%d %H:%M} UTC  {machine_facts(base_url)}")
    print(f"loaded {entries:,} entries, {2 * entries:,} postings in {load_seconds:.0f} s (bulk SQL)")
    export = measure_export(url)
    print(
        f"export  {export['rows_exported']:,} postings  service CSV {export['export_seconds']:.1f} s "
        f"({export['export_bytes'] / 1e6:.0f} MB)  psql \\copy {export['copy_seconds']:.1f} s "
        f"({export['copy_bytes'] / 1e6:.0f} MB, {export['rows_copied']:,} rows)  ratio {export['ratio']:.2f}x "
        f"(goal <= 3x)  peak RSS {export['peak_rss_mb']:.0f} MB (after start-up {export['rss_before_export_mb']:.0f}"
        f" MB; goal < 200 MB)"
    )
    as_of = measure_as_of(world["hot"], entries)
    print(
        f"as-of balance on an account of {entries:,} postings  as of a moment {as_of['as_of_ms_median']:.3f} ms "
        f"median (p95 {as_of['as_of_ms_p95']:.3f})  current {as_of['current_ms_median']:.3f} ms  "
        f"ratio {as_of['ratio']:.2f}x (goal <= 5x)  sum over history {as_of['sum_over_history_ms_median']:.0f} ms"
    )
    return [
        Figure("reports", f"journal export, {export['rows_exported']:,} postings", export["export_seconds"], "s",
               "psql \\copy (s)", export["copy_seconds"], Goal("<=", EXPORT_GOAL, text=f"≤ {EXPORT_GOAL:g}× \\copy")),
        Figure("reports", "peak RSS of the exporting process", export["peak_rss_mb"], "MB",
               goal=Goal("<", RSS_GOAL_MB, on="value", text=f"< {RSS_GOAL_MB:g} MB")),
        Figure("reports", f"as-of balance, account of {entries:,} postings", as_of["as_of_ms_median"], "ms",
               "current balance (ms)", as_of["current_ms_median"],
               Goal("<=", AS_OF_GOAL, text=f"≤ {AS_OF_GOAL:g}× current")),
    ]  # fmt: skip


if __name__ == "__main__":
    main()
