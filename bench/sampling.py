"""What the machine and the database are doing during a run: /proc CPU counters and pg_stat_activity / pg_locks."""

from __future__ import annotations

import os
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path


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
