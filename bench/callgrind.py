"""Instructions per request, counted by valgrind's callgrind: a measure of application CPU that the machine's load
and clock do not move.

``time.process_time`` on this shared two-core host moved by 10–20 % between runs of the same code (BENCHMARKS.md),
more than most single cuts save. callgrind counts the instructions the process executes, and the same code on the
same database gives the same count to within about 1 %. It is slow (about 50 × native), so it counts only the
measured requests: the child process below runs them inside one ``functools.reduce`` call, and callgrind collects
only while that C function is on the stack (``--collect-atstart=no --toggle-collect=functools_reduce``). Django
setup, imports and warm-up requests are not counted. The PostgreSQL backend's instructions are not either (another
process): this is the client side, the part the issue's "application CPU" means.

``bench.request_cost`` prepares the database and the world, then calls :func:`count` once per kind. The child is
this module: ``python -m bench.callgrind STATE KIND N``, where STATE is a JSON file of the token, the application
ids and the Django environment.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

from bench.plumbing import ROOT, setup_django

WARMUP = 5
COLLECTED = re.compile(r"Collected\s*:\s*([\d,]+)")
PATHS = {"baseline": "/api/v1/bench/baseline/", "approve": "/api/v1/voucher-applications/{id}/approve/"}


def available() -> bool:
    return shutil.which("valgrind") is not None


def collected(valgrind_output: str) -> int:
    """The instruction count callgrind reports (``==123== Collected : 1,234``); ValueError if there is none."""
    found = COLLECTED.findall(valgrind_output)
    if not found:
        raise ValueError("callgrind reported no 'Collected' count:\n" + valgrind_output[-2000:])
    return int(found[-1].replace(",", ""))


def count(kind: str, n: int, *, token: str, ids: list[int], environment: dict[str, str]) -> int:
    """Instructions per request of ``kind`` over ``n`` requests (after ``WARMUP`` uncounted ones)."""
    needed = WARMUP + n if kind == "approve" else 0
    if len(ids) < needed:
        raise ValueError(f"{kind} under callgrind needs {needed} submitted applications, got {len(ids)}")
    with tempfile.TemporaryDirectory(prefix="bench-callgrind-") as scratch:
        state = Path(scratch, "state.json")
        state.write_text(json.dumps({"token": token, "ids": ids[:needed], "environment": environment}))
        done = run_counted(["-m", "bench.callgrind", str(state), kind, str(n)], Path(scratch))
    return collected(done.stderr) // n


def run_counted(python_args: list[str], scratch: Path, timeout: float = 1800) -> subprocess.CompletedProcess[str]:
    """``python <python_args>`` under callgrind, counting only while ``functools.reduce`` runs."""
    command = [
        "valgrind",
        "--tool=callgrind",
        "--collect-atstart=no",
        "--toggle-collect=functools_reduce",
        f"--callgrind-out-file={scratch / 'callgrind.out'}",
        sys.executable,
        *python_args,
    ]
    # A fixed hash seed: set and dict orders, and so the instructions that walk them, are the same every run.
    environ = {**os.environ, "PYTHONHASHSEED": "0"}
    done = subprocess.run(command, cwd=ROOT, env=environ, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"callgrind child failed ({done.returncode}):\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return done


def _child(state_path: str, kind: str, n: int) -> None:
    state = json.loads(Path(state_path).read_text())
    setup_django(state["environment"].pop("DATABASE_URL"), **state["environment"])
    from django.conf import settings
    from django.test import Client

    # Sealing is a debounced batch of the worker's, not a request's work, and under callgrind's slow clock it
    # would run on some requests and not others: left out, the count repeats.
    settings.LEDGER_SEAL_ON_COMMIT = False

    client = Client(HTTP_HOST="127.0.0.1")
    ids: list[int] = list(state["ids"])
    headers = {"Authorization": f"Bearer {state['token']}"}

    def request(_accumulated: Any, _n: int) -> None:
        path = PATHS[kind].format(id=ids.pop(0) if kind == "approve" else "")
        keyed = {**headers, "Idempotency-Key": str(uuid.uuid4())}
        response = client.generic("POST", path, b"{}", content_type="application/json", headers=keyed)
        if response.status_code >= 300:
            raise SystemExit(f"{path} answered {response.status_code}: {response.content[:500]!r}")

    for warm in range(WARMUP):
        request(None, warm)
    functools.reduce(request, range(n), None)  # callgrind counts only inside this call


if __name__ == "__main__":
    _child(sys.argv[1], sys.argv[2], int(sys.argv[3]))
