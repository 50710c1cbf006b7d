"""What every benchmark needs around the work it measures: its own databases, Django set up against them, a note
of the machine, and the SQL a phase sent.

Each benchmark is a module of this package, run from the repository root as ``python -m bench.<name>`` (the
Makefile's ``bench-*`` targets do that), so ``bench``, the project and ``tests.factories`` all import by name, and
processes the benchmarks spawn inherit the same path.
"""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
# The Makefile's throwaway keys (WITH_KEY), so that ``python -m bench.<name>`` also runs without make.
SECRET_KEY = "test-only-secret-key-not-for-production-use-0123456789abcdef"  # noqa: S105 (throwaway bench DB)
THROWAWAY_KEYS = {
    "SECRET_KEY": SECRET_KEY,
    "PERSONAL_ID_HMAC_KEY": "test-only-personal-id-hmac-key-not-for-production-0123456789",
    "LEDGER_SIGNING_KEY": "test-only-ledger-signing-key-not-for-production-0123456789",
}


def bench_db(name: str) -> str:
    """A benchmark database's name, with ``BENCH_DB_SUFFIX`` appended: two people's runs on one server then drop
    and create their own databases, never each other's."""
    return name + os.environ.get("BENCH_DB_SUFFIX", "")


def database_url(base_url: str, name: str) -> str:
    """``base_url`` pointing at database ``name`` instead."""
    parts = urlsplit(base_url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def admin_sql(base_url: str, statement: str) -> None:
    """Run one statement in the server's ``postgres`` database, outside a transaction (CREATE/DROP DATABASE)."""
    import psycopg

    with psycopg.connect(database_url(base_url, "postgres"), autocommit=True) as connection:
        connection.execute(statement)


def recreate_database(base_url: str, name: str) -> None:
    """Drop (closing its connections) and create the benchmark's own database: never a test or dev database."""
    admin_sql(base_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    admin_sql(base_url, f"CREATE DATABASE {name}")


def machine_facts(base_url: str) -> str:
    """CPU count and model, Python, and the PostgreSQL settings that decide commit cost."""
    import psycopg

    with psycopg.connect(database_url(base_url, "postgres")) as connection:
        facts = {
            name: connection.execute(f"SHOW {name}").fetchone()[0]  # type: ignore[index]
            for name in ("server_version", "synchronous_commit", "fsync", "shared_buffers")
        }
    cpu = platform.processor() or platform.machine()
    with suppress(OSError, StopIteration):
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    settings = ", ".join(f"{k}={v}" for k, v in facts.items())
    return f"{os.cpu_count()} CPU ({cpu}), Python {platform.python_version()}, PostgreSQL {settings}"


def load_average() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:  # pragma: no cover
        return "n/a"


def setup_django(url: str, **environment: str) -> None:
    """This process against database ``url``: production settings without a pool (one thread per process), the
    benchmark's throwaway keys unless set, and ``environment`` on top."""
    os.environ["DATABASE_URL"] = url
    os.environ["DB_POOL"] = "0"
    for name, value in THROWAWAY_KEYS.items():
        os.environ.setdefault(name, value)
    os.environ.update(environment)
    os.environ["DJANGO_SETTINGS_MODULE"] = "voucher_service.settings"
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


@dataclass
class Result:
    label: str
    clients: int
    count: int
    seconds: float
    latencies_ms: list[float]
    retries: int = 0
    seal_lag_ms: tuple[float, float] | None = None  # (p99, max) of recorded → sealed, ledger cells only

    @property
    def tps(self) -> float:
        return self.count / self.seconds

    def percentile(self, fraction: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def percentile(values: list[float], fraction: float) -> float:
    """The ``fraction`` quantile of ``values`` (nearest rank); NaN when there are none."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]
