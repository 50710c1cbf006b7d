"""What both benchmarks need around the work they measure: their own databases and a note of the machine.

The scripts import it as a sibling module (``python bench/<name>.py`` puts ``bench/`` on the path, and spawned
worker processes inherit that path).
"""

from __future__ import annotations

import os
import platform
from contextlib import suppress
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit


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
