"""``make bench``'s figures and table (``bench.summary``), and ``bench.all`` collecting them from child processes.

No database: the benchmarks themselves need PostgreSQL and are smoke-run by hand (``make bench BENCH_ARGS=--quick``);
here ``bench.all`` runs small fake benchmark modules written to a temporary directory.
"""

from __future__ import annotations

import argparse
import math
import os
import textwrap
import time
from pathlib import Path

import pytest

import bench.all as bench_all
from bench.summary import (
    COLUMNS,
    YES_NO,
    Figure,
    Goal,
    add_run_options,
    parse,
    read_figures,
    render_table,
    write_figures,
)


def spread(value: float, baseline: float | None = 1000.0, threshold: float = 0.6) -> Figure:
    return Figure(
        "ledger", "spread entries/s, 4 clients", value, "entries/s", "pgbench TPC-B tps", baseline,
        Goal(">=", threshold, text=f"≥ {threshold}× pgbench"),
    )  # fmt: skip


def cells(row: str) -> list[str]:
    """The cells of one markdown table row."""
    return [cell.strip() for cell in row.strip().strip("|").split(" | ")]


def row_of(table: str, label: str) -> list[str]:
    (row,) = [line for line in table.splitlines() if f"| {label} |" in line]
    return cells(row)


# --- Ratio and goal --------------------------------------------------------------------------------------------


def test_the_ratio_is_the_value_over_the_baseline_and_a_ratio_goal_is_judged_on_it():
    # given a figure at 0.65 of its baseline and one at 0.55, both with a goal of at least 0.6
    above, below = spread(650.0), spread(550.0)
    # then each ratio divides the value by the baseline, and only the first meets the goal
    assert above.ratio == pytest.approx(0.65)
    assert below.ratio == pytest.approx(0.55)
    assert above.met is True
    assert below.met is False


def test_a_goal_on_the_value_ignores_the_baseline():
    # given an approval's CPU of 12 ms against a 3 ms baseline, and one of 16 ms, goal at most 15 ms
    def approve(ms: float) -> Figure:
        return Figure("request_cost", "approve", ms, "ms", "baseline", 3.0, Goal("<=", 15, on="value"))

    # then the goal reads the value (the ratios, 4× and 5.3×, play no part)
    assert approve(12.0).met is True
    assert approve(15.0).met is True
    assert approve(16.0).met is False
    assert approve(12.0).ratio == pytest.approx(4.0)
    assert approve(12.0).goal_text == "≤ 15 ms"


@pytest.mark.parametrize(
    ("op", "value", "met"), [("<", 4.99, True), ("<", 5.0, False), (">", 5.0, False), (">", 5.01, True)]
)
def test_strict_comparisons_are_strict(op, value, met):
    # given a p99/p50 figure with a strict goal at 5
    figure = Figure("issuance", "p99/p50", value, "", goal=Goal(op, 5, on="value"))
    # then exactly 5 does not meet it
    assert figure.met is met


def test_without_a_goal_or_without_a_baseline_to_divide_by_nothing_is_claimed():
    # given a figure without a goal, and ratio goals whose baseline is missing, zero or NaN
    no_goal = Figure("stress", "ops/s", 75.0, "ops/s")
    missing, zero, nan = spread(700.0, baseline=None), spread(700.0, baseline=0.0), spread(700.0, math.nan)
    # then there is no ratio, and met? is unknown (None) rather than yes or no
    assert no_goal.met is None
    assert no_goal.ratio is None
    assert [f.ratio for f in (missing, zero, nan)] == [None, None, None]
    assert [f.met for f in (missing, zero, nan)] == [None, None, None]


def test_a_value_that_could_not_be_measured_does_not_meet_its_goal():
    # given a p99/p50 that is NaN (no latencies came back)
    figure = Figure("issuance", "p99/p50", math.nan, "", goal=Goal("<", 5, on="value"))
    # then the goal is not met
    assert figure.met is False


def test_the_goal_text_is_derived_when_not_given_and_a_bad_goal_is_refused():
    # given goals without text
    ratio = Figure("x", "y", 1.0, "s", "b", 1.0, Goal(">=", 0.5))
    value = Figure("x", "y", 1.0, "MB", goal=Goal("<", 200, on="value"))
    # then the table states them from the threshold (and the unit, for a value)
    assert ratio.goal_text == "≥ 0.5×"
    assert value.goal_text == "< 200 MB"
    # and a goal with an unknown comparison or subject is refused when made
    with pytest.raises(ValueError, match="goal"):
        Goal("=>", 1)
    with pytest.raises(ValueError, match="goal"):
        Goal(">=", 1, on="median")


# --- The table -------------------------------------------------------------------------------------------------


def test_the_table_has_one_row_per_figure_under_the_seven_columns():
    # given a met goal, an unmet one, a figure without baseline or goal, and a yes/no figure
    figures = [
        spread(700.0),
        Figure("ledger", "hot entries/s, 4 clients", 300.0, "entries/s", "spread entries/s", 700.0,
               Goal(">=", 0.7, text="≥ 0.7× spread")),
        Figure("issuance", "bulk 10,000 rows, valid_rows_only", 12.345, "s",
               goal=Goal("<=", 30, on="value", text="≤ 30 s")),
        Figure("stress", "10,000 operations on 32 threads", 75.2, "ops/s"),
        Figure("stress", "all checks passed", 1.0, YES_NO, goal=Goal(">=", 1, on="value", text="yes")),
    ]  # fmt: skip
    # when the table is rendered
    table = render_table(figures)
    lines = table.splitlines()
    # then a header of the seven columns, the alignment line, and a row per figure
    assert cells(lines[0]) == list(COLUMNS)
    assert cells(lines[0]) == ["benchmark", "figure", "value", "baseline", "ratio", "goal", "met?"]
    assert len(lines) == 2 + len(figures)
    assert lines[1].strip("|").split("|") == ["---", "---", "---:", "---", "---:", "---", "---"]
    assert all(len(cells(line)) == 7 for line in lines[2:])
    assert row_of(table, "spread entries/s, 4 clients") == [
        "ledger", "spread entries/s, 4 clients", "700 entries/s", "pgbench TPC-B tps: 1,000", "0.70×",
        "≥ 0.6× pgbench", "yes",
    ]  # fmt: skip
    # an unmet goal says no
    assert row_of(table, "hot entries/s, 4 clients")[4:] == ["0.43×", "≥ 0.7× spread", "no"]
    # a missing baseline leaves baseline and ratio empty; a goal on the value is still judged
    assert row_of(table, "bulk 10,000 rows, valid_rows_only")[2:] == ["12.3 s", "–", "–", "≤ 30 s", "yes"]
    # no goal: nothing to meet
    assert row_of(table, "10,000 operations on 32 threads")[2:] == ["75.2 ops/s", "–", "–", "–", "–"]
    assert row_of(table, "all checks passed")[2] == "yes"


def test_a_crashed_benchmark_gets_a_row_saying_so_and_a_pipe_cannot_break_a_row():
    # given one figure whose label holds a pipe, and a crashed benchmark
    table = render_table([Figure("a", "x | y", 1.0, "s")], crashed={"claims": "exit 1, no figures"})
    # then the pipe is escaped and the crash is a row of its own
    assert r"x \| y" in table
    assert table.splitlines()[-1] == "| claims | **crashed**: exit 1, no figures | – | – | – | – | – |"


# --- Files and options -----------------------------------------------------------------------------------------


def test_figures_survive_a_json_round_trip(tmp_path):
    # given figures with and without baseline and goal
    figures = [spread(650.0), Figure("stress", "ops/s", 75.0, "ops/s"), spread(1.0, baseline=None)]
    path = tmp_path / "figures.json"
    # when written (with extra facts next to them) and read back
    write_figures(path, figures, machine="2 CPU")
    # then they are equal, goals included, and the extra facts are in the file
    assert read_figures(path) == figures
    assert read_figures(path)[0].goal == Goal(">=", 0.6, text="≥ 0.6× pgbench")
    assert '"machine": "2 CPU"' in path.read_text()


def test_quick_sizes_come_first_so_options_given_explicitly_win():
    # given a benchmark's parser and its quick sizes
    parser = add_run_options(argparse.ArgumentParser())
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, nargs="*", default=[1, 4, 16])
    quick = ["--seconds", "2", "--clients", "1"]
    # then without --quick the defaults hold, with it the quick sizes, and an explicit option beats both
    assert (parse(parser, quick, []).seconds, parse(parser, quick, []).clients) == (10.0, [1, 4, 16])
    assert (parse(parser, quick, ["--quick"]).seconds, parse(parser, quick, ["--quick"]).clients) == (2.0, [1])
    assert parse(parser, quick, ["--quick", "--seconds", "5"]).seconds == 5.0
    assert parse(parser, quick, ["--json", "out.json"]).json == "out.json"


# --- bench.all: one child process per benchmark ----------------------------------------------------------------

FAKES = {
    # Writes one figure whose value says whether it was given --quick.
    "fake_ok": """
        import sys
        from bench.summary import Figure, Goal, write_figures
        value = 1.0 if "--quick" in sys.argv else 0.0
        write_figures(sys.argv[sys.argv.index("--json") + 1],
                      [Figure("ok", "quick given", value, "", "always 1", 1.0, Goal(">=", 1))])
    """,
    # Crashes before writing anything.
    "fake_crash": """
        print("about to fail")
        raise RuntimeError("boom in the benchmark")
    """,
    # Like bench.stress when a check fails: writes its figures, then exits 1.
    "fake_failed_check": """
        import sys
        from bench.summary import YES_NO, Figure, Goal, write_figures
        write_figures(sys.argv[sys.argv.index("--json") + 1],
                      [Figure("checks", "all checks passed", 0.0, YES_NO, goal=Goal(">=", 1, on="value"))])
        sys.exit(1)
    """,
    # Leaves a process running behind it (as a crash might leave gunicorn), writing its pid next to the JSON.
    "fake_leaves_child": """
        import subprocess, sys
        from pathlib import Path
        from bench.summary import Figure, write_figures
        out = Path(sys.argv[sys.argv.index("--json") + 1])
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        (out.parent / "leftover.pid").write_text(str(child.pid))
        write_figures(out, [Figure("leaves", "done", 1.0, "")])
    """,
    "fake_hangs": """
        import time
        time.sleep(60)
    """,
}


@pytest.fixture
def fakes(tmp_path, monkeypatch):
    """The fake modules importable by the children (PYTHONPATH), bench.all pointed at them, no database."""
    modules = tmp_path / "modules"
    modules.mkdir()
    for name, source in FAKES.items():
        (modules / f"{name}.py").write_text(textwrap.dedent(source))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(modules), os.environ.get("PYTHONPATH")])))
    monkeypatch.setenv("DATABASE_URL", "postgres://nowhere/postgres")
    monkeypatch.setattr(bench_all, "machine_facts", lambda url: "fake machine")
    monkeypatch.setattr(bench_all, "BENCHMARKS", {name.removeprefix("fake_"): name for name in FAKES})
    return tmp_path


def alive(pid: int) -> bool:
    """Still running a few seconds on: not gone, nor a zombie waiting for whoever inherited it (SIGKILL is
    delivered asynchronously)."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            return False
        if state == "Z":
            return False
        time.sleep(0.1)
    return True


def test_each_benchmark_runs_in_its_own_child_and_a_crash_fails_the_run_but_not_the_others(fakes, capsys):
    # given a benchmark that works, one that crashes and one whose check fails, run quick
    logs = fakes / "logs"
    # when bench.all runs them
    status = bench_all.main(["--quick", "--only", "ok,crash,failed_check", "--logs", str(logs),
                             "--json", str(fakes / "all.json")])  # fmt: skip
    out = capsys.readouterr().out
    # then the run fails because one crashed
    assert status == 1
    # and the others' figures are in the table: the child got --quick, and the failed check is a "no", not a crash
    table = out[out.index("| benchmark |") :]
    assert row_of(table, "quick given") == ["ok", "quick given", "1.00", "always 1: 1.00", "1.00×", "≥ 1×", "yes"]
    assert row_of(table, "all checks passed")[2::4] == ["no", "no"]
    assert table.splitlines()[-1].startswith("| crash | **crashed**: exit 1, no figures")
    # and the crash's own output is kept in its log and its tail printed
    assert "RuntimeError: boom in the benchmark" in (logs / "crash.log").read_text()
    assert "RuntimeError: boom in the benchmark" in out
    assert "machine: fake machine" in out
    # and the JSON has every figure and every run, the crash with its reason
    assert [f.label for f in read_figures(fakes / "all.json")] == ["quick given", "all checks passed"]
    runs = {run.name: run for run in [bench_all.Run(**{**r, "log": Path(r["log"])}) for r in _runs(fakes)]}
    assert (runs["ok"].returncode, runs["ok"].error) == (0, "")
    assert (runs["failed_check"].returncode, runs["failed_check"].error) == (1, "")
    assert (runs["crash"].returncode, runs["crash"].error) == (1, "exit 1, no figures")


def _runs(directory: Path) -> list[dict]:
    import json

    return json.loads((directory / "all.json").read_text())["runs"]


def test_every_goal_unmet_is_still_a_successful_measurement(fakes, capsys):
    # given only the benchmark whose check fails
    status = bench_all.main(["--only", "failed-check", "--logs", str(fakes / "logs")])
    # then the run succeeds: an unmet goal is a figure, not a failure
    assert status == 0
    assert "| checks | all checks passed | no |" in capsys.readouterr().out


def test_a_ratio_keeps_the_digits_its_size_calls_for():
    # given an approval at 0.031 of the baseline (the goal is 0.3)
    figure = Figure("issuance", "approve+issue/s, 16 clients", 4.2, "/s", "baseline", 135.0, Goal(">=", 0.3))
    # then the table does not round it to 0.03 or 0.00
    assert row_of(render_table([figure]), "approve+issue/s, 16 clients")[4] == "0.031×"
    # and a large one is not given two decimals it does not need
    lifecycle = Figure("claims", "lifecycle p50, 16 clients", 8393.0, "ms", "baseline request p50 (ms)", 42.9)
    assert row_of(render_table([lifecycle]), "lifecycle p50, 16 clients")[4] == "196×"


def test_a_child_is_killed_at_the_timeout_and_what_a_benchmark_leaves_running_is_stopped(fakes, capsys):
    # given a benchmark that hangs and one that leaves a process behind
    status = bench_all.main(["--only", "hangs,leaves_child", "--timeout", "3", "--logs", str(fakes / "logs")])
    out = capsys.readouterr().out
    # then the hanging one is a crash, timed out, and the run fails
    assert status == 1
    assert "| hangs | **crashed**: timed out after 3 s |" in out
    # and the process the other left behind no longer runs
    leftover = int((fakes / "logs" / "leftover.pid").read_text())
    assert not alive(leftover)
    assert "| leaves | done |" in out


def test_an_unknown_benchmark_is_refused_before_anything_runs(fakes):
    with pytest.raises(SystemExit, match="unknown benchmark"):
        bench_all.main(["--only", "ok,nope"])


def test_every_real_benchmark_module_has_quick_sizes_and_the_shared_options():
    # given the real registry (not the fakes)
    import importlib

    for name, module_name in bench_all.BENCHMARKS.items():
        module = importlib.import_module(module_name)
        # then each exposes parser() with --quick and --json, quick sizes it accepts, and measure()
        args = parse(module.parser(), module.QUICK, ["--quick", "--json", "x.json"])
        assert args.quick, name
        assert args.json == "x.json", name
        assert callable(module.measure), name
