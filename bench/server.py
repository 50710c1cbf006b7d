"""The real WSGI application under gunicorn on 127.0.0.1, started and stopped around a benchmark phase."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.plumbing import ROOT, SECRET_KEY


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
        # The benchmarks' finance clients hold bearer tokens without an authenticator: the second factor on the
        # payout (one TOTP check) is tested in tests/, not measured here.
        PORTAL_FINANCE_REQUIRE_TOTP="0",
        DEBUG="0",
        CELERY_TASK_ALWAYS_EAGER="1",
        BENCH_BASELINE_ENDPOINT="1",  # POST /api/v1/bench/baseline/, what the benchmarks measure against
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


def count_retries(log_path: Path) -> int:
    return sum(1 for line in log_path.read_text(errors="replace").splitlines() if " retrying " in line)
