"""Every benchmark of ``bench``, one after the other, and one table of their figures (``make bench``).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python -m bench.all [--quick] [--only a,b]

Each benchmark runs in a child process of its own (``python -m bench.<name> --json PATH``), so one that crashes, or
leaves processes, settings or connections behind, spoils none of the others; its output goes to ``<name>.log`` in
the log directory (printed at the start: ``tail -f`` it to watch). Every ratio in the table divides a figure by a
baseline measured in the same child, minutes apart at most, so a shared host moves both.

The exit status is 0 when every benchmark delivered its figures, whether or not they meet their goals (this is a
measurement); 1 when one crashed, timed out or wrote no figures. A benchmark that exits non-zero after writing its
figures (``bench.stress`` when a check fails) did not crash: its figures say what failed.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

from bench.plumbing import ROOT, load_average, machine_facts
from bench.summary import Figure, read_figures, render_table, write_figures

# name → module, in the order they run: the short ones first, so a crash shows early.
BENCHMARKS = {
    "request_cost": "bench.request_cost",
    "reports": "bench.reports",
    "stress": "bench.stress",
    "issuance": "bench.issuance",
    "claims": "bench.claims",
    "ledger": "bench.ledger",
}


@dataclass
class Run:
    name: str
    returncode: int | None  # None: killed at the timeout
    seconds: float
    load_before: str
    load_after: str
    log: Path
    figures: list[Figure] = field(default_factory=list)
    error: str = ""  # why it counts as crashed; empty when it delivered its figures

    def line(self) -> str:
        state = f"CRASHED ({self.error})" if self.error else f"{len(self.figures)} figures"
        if not self.error and self.returncode:
            state += f", exit {self.returncode}"
        return (
            f"{self.name}: {state} in {self.seconds:.0f} s; load average {self.load_before} → {self.load_after}; "
            f"log {self.log}"
        )


def run_one(name: str, module: str, log_dir: Path, quick: bool, timeout: float) -> Run:
    """``python -m module --json …`` in its own session; whatever it leaves running is killed when it ends."""
    json_path, log = log_dir / f"{name}.json", log_dir / f"{name}.log"
    json_path.unlink(missing_ok=True)
    command = [sys.executable, "-m", module, "--json", str(json_path), *(["--quick"] if quick else [])]
    before, started = load_average(), time.perf_counter()
    with log.open("wb") as out:
        child = subprocess.Popen(
            command,
            cwd=ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the child and everything it started
        )
        try:
            finished = exited(child.pid, timeout)
        finally:
            # Its descendants (gunicorn, worker processes) too, if a crash left them: only this group, by its id,
            # while the child is not yet reaped (so the id cannot have been reused).
            with suppress(ProcessLookupError, PermissionError):
                os.killpg(child.pid, signal.SIGKILL)
            status = child.wait()
    returncode = status if finished else None
    run = Run(name, returncode, time.perf_counter() - started, before, load_average(), log)
    if returncode is None:
        run.error = f"timed out after {timeout:.0f} s"
        return run
    try:
        run.figures = read_figures(json_path)
    except FileNotFoundError:
        run.error = f"exit {returncode}, no figures"
    except (OSError, ValueError, KeyError, TypeError) as error:
        run.error = f"exit {returncode}, unreadable figures ({type(error).__name__}: {error})"
    return run


def exited(pid: int, timeout: float) -> bool:
    """Whether child ``pid`` ended within ``timeout`` seconds, leaving it unreaped (a zombie keeps its id)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
            return True
        time.sleep(0.2)
    return False


def tail(path: Path, lines: int = 15) -> str:
    with suppress(OSError):
        return "\n".join("    " + line for line in path.read_text(errors="replace").splitlines()[-lines:])
    return "    (no log)"


def selected(only: str | None) -> list[str]:
    if not only:
        return list(BENCHMARKS)
    names = [name.strip().replace("-", "_") for name in only.split(",") if name.strip()]
    unknown = [name for name in names if name not in BENCHMARKS]
    if unknown:
        raise SystemExit(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    return names


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="each benchmark's smallest size (a smoke run)")
    parser.add_argument("--only", metavar="A,B", help=f"a comma-separated subset of: {', '.join(BENCHMARKS)}")
    parser.add_argument("--json", metavar="PATH", help="also write every figure, the machine and the runs there")
    parser.add_argument("--logs", metavar="DIR", help="where the logs go (default: a new temporary directory)")
    parser.add_argument("--timeout", type=float, default=3 * 3600, help="seconds before a benchmark is killed")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    names = selected(args.only)
    base_url = os.environ.get("DATABASE_URL", "")
    if not base_url.startswith("postgres"):
        raise SystemExit("Set DATABASE_URL to a PostgreSQL server (each benchmark creates its own databases).")
    log_dir = Path(args.logs) if args.logs else Path(tempfile.mkdtemp(prefix="bench-all-"))
    log_dir.mkdir(parents=True, exist_ok=True)
    machine = machine_facts(base_url)
    print(f"machine: {machine}")
    print(f"{'quick' if args.quick else 'full'} sizes: {', '.join(names)}; logs in {log_dir}", flush=True)
    runs = []
    for name in names:
        run = run_one(name, BENCHMARKS[name], log_dir, args.quick, args.timeout)
        print(run.line(), flush=True)
        if run.error:
            print(tail(run.log), flush=True)
        runs.append(run)
    figures = [figure for run in runs for figure in run.figures]
    print()
    print(render_table(figures, crashed={run.name: run.error for run in runs if run.error}))
    if args.json:
        write_figures(
            args.json,
            figures,
            machine=machine,
            quick=args.quick,
            runs=[
                {"name": r.name, "returncode": r.returncode, "seconds": r.seconds, "load_before": r.load_before,
                 "load_after": r.load_after, "log": str(r.log), "error": r.error}
                for r in runs
            ],
        )  # fmt: skip
    return 1 if any(run.error for run in runs) else 0


if __name__ == "__main__":
    sys.exit(main())
