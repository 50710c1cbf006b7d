"""`make run`, the embedded service, as a person or a supervisor uses it: it comes up on the port it is given,
and Ctrl-C or SIGTERM stops the web server, the worker and beat within 10 s whatever is in flight, leaving no
process of its session behind and the port free.

`make run` starts in a session of its own on a free port: once for the module (its tests use it in file order,
the last one stopping it) and once more for the Ctrl-C test; the data directory is shared, so only the first
start migrates. Slow (half a minute a start on two cores) but the only proof that the service stops.
"""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import time

import pytest

from tests.embedded import ROOT, EmbeddedRun, embedded_environment, port_is_free

STOP_WITHIN = 10  # seconds, from the first signal to the last process gone


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("make-run")


@pytest.fixture(scope="module")
def embedded(data_dir):
    """The module's run. The last test of the module stops it; teardown kills whatever a failure left."""
    run = EmbeddedRun(data_dir).start()
    yield run
    run.kill_everything()


@pytest.fixture
def another_run(data_dir, embedded):
    """A second run, for a test that stops it another way (after the module's run, which holds the data dir)."""
    embedded.kill_everything()
    run = EmbeddedRun(data_dir).start()
    yield run
    run.kill_everything()


def work_in_flight(embedded: EmbeddedRun):
    """The worker busy with a task it cannot leave: waiting on the database's write lock, in C code.

    The task is ours (an issuance) or, if beat's ledger seal got there first, that one: every task opens a write
    transaction (SQLite's BEGIN IMMEDIATE), so either waits on the lock for up to its 30 s busy timeout.
    """
    lock = embedded.hold_database_write_lock()
    try:
        embedded.queue_task("vouchers.issue_voucher", 1)
        embedded.wait_for_task_in_flight()
        time.sleep(1)  # into the task's first statement
        yield
    finally:
        lock.rollback()
        lock.close()


work_in_flight = contextlib.contextmanager(work_in_flight)


def assert_stopped(embedded: EmbeddedRun, signalled_at: float) -> None:
    left = embedded.wait_until_gone(timeout=STOP_WITHIN - (time.monotonic() - signalled_at))
    took = time.monotonic() - signalled_at
    assert not left, f"still running {took:.1f} s after the signal:\n" + "\n".join(left) + "\n" + embedded.log()[-2000:]
    assert took < STOP_WITHIN
    assert port_is_free(embedded.port), f"port {embedded.port} is still taken"


def test_it_serves_the_port_it_was_given(embedded):
    assert embedded.get("/healthz") == 200
    assert embedded.get("/api/docs/") == 200
    assert embedded.get("/api/v1/") == 200


def test_it_says_which_programs_it_expired_and_did_not_open_and_why(embedded):
    # Ningxia's window ended on 2025-12-31 (these tests run later); Yinchuan's program is a draft.
    log = embedded.log()
    assert "expired: ningxia-2023-8-9 (its window ended on 2025-12-31)" in log
    assert "not opened: ningxia-2023-8-9" in log
    assert "not opened: yinchuan-compute-capital-draft" in log


def readme_first_session() -> str:
    """The README's first session: the bash block after "A first session from the command line"."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    after = readme.split("A first session from the command line", 1)[1]
    return after.split("```bash\n", 1)[1].split("```", 1)[0]


def test_the_readme_first_session_runs_as_pasted(embedded):
    # given the block exactly as the README shows it, pointed at this run's port
    script = readme_first_session()
    assert "<" not in script.replace("<<", ""), "placeholders left in the README session"
    script = script.replace("http://127.0.0.1:8000", embedded.base_url)
    # when it is pasted into bash (stopping at the first failing command)
    done = subprocess.run(  # noqa: S603
        ["bash", "-e", "-o", "pipefail", "-c", script],  # noqa: S607
        capture_output=True,
        text=True,
        timeout=120,
    )
    # then it logged in as the applicant and the reviewer, applied, approved, and the public check shows the
    # voucher: 200,000 yuan, active
    assert done.returncode == 0, done.stderr + done.stdout
    answers = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    me, issuance, verified = answers
    assert me["username"] == "demo_applicant"
    assert issuance["status"] == "succeeded"
    assert verified["serial"] == issuance["voucher_serial"]
    assert (verified["face_value"], verified["balance"], verified["status"]) == ("200000.00", "200000.00", "active")
    assert verified["program_name"] == "保定市算力券"


def readme_claim_session() -> str:
    """The README's claim walk-through: the bash block after "A claim from draft to paid"."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    return readme.split("### A claim from draft to paid", 1)[1].split("```bash\n", 1)[1].split("```", 1)[0]


def test_the_readme_claim_walk_through_runs_as_pasted(embedded):
    # given the first session has run (its voucher is redeemed here), and the walk-through as the README shows it
    script = readme_claim_session().replace("http://127.0.0.1:8000", embedded.base_url)
    # when it is pasted into bash in the checkout, against this run's data directory (for manage.py)
    done = subprocess.run(  # noqa: S603
        ["bash", "-e", "-o", "pipefail", "-c", script],  # noqa: S607
        capture_output=True,
        text=True,
        timeout=180,
        cwd=ROOT,
        env=embedded_environment(embedded.data_dir),  # as in a shell of its own: never the test run's database
    )
    # then the claim was evaluated at 200,000 yuan, decided three times, noticed, paid half by the city and half by
    # the district, and the voucher is exhausted
    assert done.returncode == 0, done.stderr + done.stdout
    lines = done.stdout.splitlines()
    answers = [json.loads(line) for line in lines if line.startswith(("{", "["))]
    evaluated, notice, payout, vouchers = answers
    assert (evaluated["status"], evaluated["subsidy"]) == ("in_review", "200000.00")
    assert lines.count("200") == 3
    assert notice["subsidy"] == "200000.00"
    assert payout["shares"] == [{"payer": "city", "amount": "100000.00"}, {"payer": "district", "amount": "100000.00"}]
    assert [(v["balance"], v["status"]) for v in vouchers] == [("0.00", "exhausted")]
    assert lines[-1].endswith("claim.pay")


def readme_auditor_session() -> str:
    """The README's auditor walk-through: the bash block after "A walk-through, runnable as pasted"."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    after = readme.split("## Auditors", 1)[1].split("A walk-through, runnable as pasted", 1)[1]
    return after.split("```bash\n", 1)[1].split("\n```\n", 1)[0]


def test_the_readme_auditor_walk_through_runs_as_pasted(embedded, tmp_path):
    # given the claim walk-through has run (its paid claim is today's), and the auditor's block as the README
    # shows it, in a directory of its own (it writes its files there) that sees the checkout's scripts/
    script = readme_auditor_session().replace("http://127.0.0.1:8000", embedded.base_url)
    (tmp_path / "scripts").symlink_to(ROOT / "scripts")
    # when it is pasted into bash
    done = subprocess.run(  # noqa: S603
        ["bash", "-e", "-o", "pipefail", "-c", script],  # noqa: S607
        capture_output=True,
        text=True,
        timeout=240,
        cwd=tmp_path,
    )
    # then the ledger verified, the statement's figures and a compliant proof came back, the spreadsheet and the
    # journal were written, the journal checked offline against the pin, the sample drawn twice the same, and the
    # bundle's files matched its manifest
    assert done.returncode == 0, done.stderr + done.stdout
    lines = done.stdout.splitlines()
    assert lines[0] == "True"
    figures = json.loads(lines[1].replace("'", '"'))
    assert {"cap", "issued", "paid", "remaining"} <= set(figures)
    assert lines[2] == "True"
    assert lines[3].startswith("OK:")
    assert lines[4] == "same sample"
    assert lines[5].startswith("bundle of claim ")
    assert lines[5].endswith("every SHA-256 matches")
    assert (tmp_path / "vouchers.xlsx").stat().st_size > 0


# Keep this the module's last test that uses `embedded`: it stops it.
def test_sigterm_to_its_process_group_stops_everything_with_work_in_flight(embedded):
    with work_in_flight(embedded):
        # given the worker stuck in a task, when a supervisor signals the process group (make, which forwards a
        # SIGTERM of its own to the script, and the script) and signals again a second later
        signalled_at = time.monotonic()
        embedded.signal_session(signal.SIGTERM)
        time.sleep(1)
        embedded.signal_session(signal.SIGTERM)
        # then within 10 s nothing of the session is left and the port is free
        assert_stopped(embedded, signalled_at)


def test_ctrl_c_twice_then_a_closing_terminal_stop_everything_with_work_in_flight(another_run):
    with work_in_flight(another_run):
        # given the worker stuck in a task, when a person presses Ctrl-C (SIGINT to the foreground process
        # group), again when it seems slow, and then closes the terminal (SIGHUP)
        signalled_at = time.monotonic()
        another_run.signal_session(signal.SIGINT)
        time.sleep(1)
        another_run.signal_session(signal.SIGINT)
        time.sleep(0.5)
        another_run.signal_session(signal.SIGHUP)
        # then
        assert_stopped(another_run, signalled_at)
