"""PostgreSQL's own TPC-B (pgbench) on the same server: the reference the ledger benchmark is read against."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

from bench.plumbing import Result, bench_db, recreate_database

PGBENCH_DB = bench_db("bench_pgbench")


def pgbench_binary() -> str:
    found = shutil.which("pgbench") or "/usr/lib/postgresql/15/bin/pgbench"
    if not Path(found).exists():
        raise SystemExit("pgbench not found")
    return found


def pgbench_connection_args(base_url: str) -> list[str]:
    parts = urlsplit(base_url)
    args = ["-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 5432), "-U", parts.username or "postgres"]
    if parts.password:
        os.environ["PGPASSWORD"] = parts.password
    return args


def prepare_pgbench(base_url: str) -> None:
    recreate_database(base_url, PGBENCH_DB)
    subprocess.run(
        [pgbench_binary(), *pgbench_connection_args(base_url), "-i", "-s", "16", "-q", PGBENCH_DB],
        check=True,
        capture_output=True,
    )


def run_pgbench(base_url: str, clients: int, seconds: float) -> Result:
    command = [pgbench_binary(), *pgbench_connection_args(base_url)]
    command += ["-n", "-T", str(int(seconds)), "-c", str(clients), "-j", str(clients), "-r", PGBENCH_DB]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    tps = float(re.search(r"tps = ([0-9.]+)", output).group(1))  # type: ignore[union-attr]
    latency = float(re.search(r"latency average = ([0-9.]+) ms", output).group(1))  # type: ignore[union-attr]
    # pgbench prints the average only; it stands in for p50 and p99 (marked "avg" in the table).
    return Result("pgbench TPC-B", clients, int(tps * seconds), seconds, [latency])
