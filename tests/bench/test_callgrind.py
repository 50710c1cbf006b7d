"""``bench.callgrind``: callgrind counts the instructions inside ``functools.reduce`` only, the same every run.

The request counts themselves need PostgreSQL and run in ``make bench``; here a few lines of Python under the
real valgrind show the two properties the benchmark relies on.
"""

from __future__ import annotations

import shutil

import pytest

from bench.callgrind import collected, run_counted

pytestmark = pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind is not installed")

# Imports a module that is not otherwise loaded (uncounted work outside reduce), then N steps inside it.
PROGRAM = "import decimal, functools, sys; functools.reduce(lambda a, i: a + i * i, range(int(sys.argv[1])), 0)"


def instructions(tmp_path, steps: int) -> int:
    return collected(run_counted(["-c", PROGRAM, str(steps)], tmp_path, timeout=120).stderr)


def test_only_the_work_inside_reduce_is_counted_and_the_count_repeats(tmp_path):
    # when the same program runs twice with 5,000 steps, and once with 10,000
    first, again = instructions(tmp_path, 5_000), instructions(tmp_path, 5_000)
    double = instructions(tmp_path, 10_000)
    # then the same work gives the same count, and twice the steps twice the count: starting the interpreter
    # and importing (tens of millions of instructions, the same in both) is left out, or the ratio would be
    # far below 2
    assert abs(first - again) <= first * 0.001
    assert 1.95 < double / first < 2.05


def test_the_count_is_read_from_valgrinds_report():
    report = "==12== Events    : Ir\n==12== Collected : 1,756,112,480\n==12==\n==12== I   refs:      1,756,112,480\n"
    assert collected(report) == 1_756_112_480
    with pytest.raises(ValueError, match="no 'Collected' count"):
        collected("==12== valgrind: failed to start\n")
