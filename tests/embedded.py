"""`make run` in a subprocess, for the tests that need the real embedded service: its own session (so every
process it starts can be found and signalled like a terminal or a supervisor would), a free port and a data
directory of the test's own.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = ROOT / ".venv" / "bin" / "python"
# What the embedded mode must not inherit from a test run on PostgreSQL and Redis (the script ignores the first
# three itself, and says so) or from a developer's shell.
NOT_INHERITED = (
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "CELERY_RESULT_BACKEND",
    "DEBUG",
    "ALLOWED_HOSTS",
    "SECRET_KEY",
    "PERSONAL_ID_HMAC_KEY",
    "DJANGO_SETTINGS_MODULE",
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def port_is_free(port: int) -> bool:
    """What `make run` itself checks before it starts (SO_REUSEADDR: a socket in TIME_WAIT does not count)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def embedded_environment(data_dir: Path) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if name not in NOT_INHERITED}
    return env | {"DATA_DIR": str(data_dir), "CELERY_LOGLEVEL": "info"}


# `make run` starts with the signal dispositions a terminal's shell gives it. A process started in the background
# of a script (`cmd &`) or under `nohup` ignores SIGINT or SIGHUP, every child inherits that, and a non-interactive
# bash cannot trap a signal ignored on entry: the Ctrl-C and closing-terminal tests would then test how the test
# runner was started, not `make run`. (GNU env execs make, so the pid and its process group stay make's.)
TERMINAL_SIGNALS = ["env", "--default-signal=INT,HUP,TERM,QUIT"]


@dataclass
class EmbeddedRun:
    data_dir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None
    log_offset: int = 0  # where this run's output starts in the (shared) log file

    @property
    def log_path(self) -> Path:
        return self.data_dir / "make-run.log"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "voucher_service.sqlite3"

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""

    def start(self, timeout: float = 300) -> EmbeddedRun:
        """`make run PORT=…` in a new session; returns once the web server answers and the worker is ready."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_offset = offset = len(self.log())
        with self.log_path.open("a", encoding="utf-8") as log:
            self.process = subprocess.Popen(  # noqa: S603 (fixed arguments)
                # env and make from PATH, as a person runs them
                [*TERMINAL_SIGNALS, "make", "--no-print-directory", "run", f"PORT={self.port}"],
                cwd=ROOT,
                env=embedded_environment(self.data_dir),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            output = self.log()[offset:]
            if "voucher_service is running" in output and re.search(r"embedded@\S+ ready", output):
                return self
            if self.process.poll() is not None:
                break
            time.sleep(0.5)
        raise AssertionError(f"make run did not come up (exit {self.process.poll()}):\n{self.log()[-4000:]}")

    # --- What is left of it -------------------------------------------------------------------------------

    def session_processes(self) -> list[str]:
        """Every live (non-zombie) process in the run's session: `make`, the script, the worker, beat, the web
        server, and anything they started."""
        assert self.process is not None
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            state, _ppid, _pgrp, session = stat.rsplit(")", 1)[1].split()[:4]
            if int(session) == self.process.pid and state != "Z":
                found.append(f"{entry.name} {cmdline.strip()}")
        return found

    def signal_session(self, signum: signal.Signals) -> None:
        """What a supervisor, `timeout` or a terminal does: signal the process group of `make run`."""
        assert self.process is not None
        os.killpg(self.process.pid, signum)

    def wait_until_gone(self, timeout: float) -> list[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.session_processes():
                break
            time.sleep(0.1)
        if self.process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=1)
        return self.session_processes()

    def kill_everything(self) -> None:
        """Teardown for a test that failed half-way: SIGKILL whatever of the session is left."""
        for line in self.session_processes():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(line.split()[0]), signal.SIGKILL)
        if self.process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=5)

    # --- Giving it work -----------------------------------------------------------------------------------

    def hold_database_write_lock(self) -> sqlite3.Connection:
        """Take SQLite's write lock from outside, so that whatever the worker writes next waits on it (in C code,
        for up to the 30 s busy timeout): work in flight that no signal handler can interrupt."""
        connection = sqlite3.connect(self.sqlite_path, timeout=30, isolation_level=None)
        connection.execute("BEGIN EXCLUSIVE")
        return connection

    def queue_task(self, name: str, *args: object) -> None:
        """Send a task through the run's own broker (the filesystem queue under DATA_DIR), as the web server does."""
        command = [str(PY), "-m", "celery", "-A", "voucher_service", "call", name, f"--args={json.dumps(list(args))}"]
        subprocess.run(  # noqa: S603 (fixed arguments)
            command, cwd=ROOT, env=embedded_environment(self.data_dir), check=True, capture_output=True, timeout=120
        )

    def wait_for_task_in_flight(self, timeout: float = 60) -> str:
        """Wait until the worker has received a task it has not finished (and return its name)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            log = self.log()[self.log_offset :]
            received = {task_id: name for name, task_id in re.findall(r"Task ([\w.]+)\[([0-9a-f-]+)\] received", log)}
            finished = set(re.findall(r"Task [\w.]+\[([0-9a-f-]+)\] (?:succeeded|failed|retry|raised)", log))
            running = [name for task_id, name in received.items() if task_id not in finished]
            if running:
                return running[-1]
            time.sleep(0.2)
        raise AssertionError(f"the worker never had a task in flight:\n{self.log()[-3000:]}")

    def get(self, path: str) -> int:
        try:
            with urllib.request.urlopen(self.base_url + path, timeout=10) as response:  # noqa: S310 (local URL)
                return int(response.status)
        except urllib.error.HTTPError as exc:
            return int(exc.code)
