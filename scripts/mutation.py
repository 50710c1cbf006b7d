"""Mutation testing of the money modules: `make mutation` (TESTING.md says how to read the result).

Each module in ``MODULES`` is mutated by mutmut (pinned in the dev dependencies) and each of its mutants is run
against that module's own tests only, on SQLite, so the score says how well *those* tests pin the module. Every
module runs in its own scratch directory under ``build/mutation/<name>/`` (the repository is never touched),
made afresh each run: mutmut would keep an earlier verdict for a function whose code is unchanged even when the
tests have changed, and a changed test is the usual reason to run this.

    make mutation                                  # every module
    make mutation MUTATION_ARGS="money rules"      # some of them (by name)

It prints the score of each module and every survivor with its diff, writes the same as Markdown to
``build/mutation/summary.md`` (for TESTING.md), and exits non-zero if any module scores below its minimum.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build" / "mutation"
MUTMUT = Path(sys.executable).parent / "mutmut"
# What a mutated copy of the project needs in order to run its tests: the packages (mutmut copies them into
# mutants/, mutating only the module under test), and what settings and tests read besides: translations, and
# manage.py, which pytest-django looks for upwards from the tests and puts the folder of on sys.path first. Were
# it missing from mutants/, it would find the repository's and import the unmutated packages from there.
SOURCE_PACKAGES = ("accounts", "core", "ledger", "voucher_service")
ALSO_COPY = ("locale", "manage.py")


@dataclass(frozen=True)
class Module:
    """One module under mutation: the tests that must pin it, and the lowest score accepted (percent)."""

    name: str
    path: str
    tests: tuple[str, ...]
    minimum: float = 95.0


# One line per module. The tests are the module's own: a mutant another module's tests happen to catch counts as
# a survivor, because it is a rule this module's tests do not pin.
MODULES = (
    Module("money", "ledger/money.py", ("tests/ledger/test_money.py",)),
    Module("validation", "ledger/validation.py", ("tests/ledger/test_validation.py",)),
    Module("rules", "voucher_service/programs/rules.py", ("tests/voucher_service/programs/test_rules.py",)),
    Module(
        "eligibility",
        "voucher_service/vouchers/eligibility.py",
        ("tests/voucher_service/vouchers/test_eligibility.py",),
    ),
    Module("subsidy", "voucher_service/claims/subsidy.py", ("tests/voucher_service/claims/test_subsidy.py",)),
    Module("evaluation", "voucher_service/claims/evaluation.py", ("tests/voucher_service/claims/test_evaluation.py",)),
    Module("checks", "voucher_service/claims/checks.py", ("tests/voucher_service/claims/test_checks.py",)),
)

KILLED = {"killed", "timeout", "caught by type check", "segfault"}
NOT_KILLED = {"survived", "no tests", "suspicious"}


@dataclass
class Outcome:
    module: Module
    statuses: dict[str, str] = field(default_factory=dict)
    diffs: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def killed(self) -> int:
        return sum(status in KILLED for status in self.statuses.values())

    @property
    def survivors(self) -> list[str]:
        return [name for name, status in self.statuses.items() if status not in KILLED]

    @property
    def score(self) -> float:
        return 100.0 * self.killed / len(self.statuses) if self.statuses else 0.0

    @property
    def passed(self) -> bool:
        unfinished = [status for status in self.statuses.values() if status not in KILLED | NOT_KILLED]
        return bool(self.statuses) and not unfinished and self.score >= self.module.minimum


def mutmut_config(module: Module) -> str:
    """The [tool.mutmut] table of a module's scratch directory (TOML, written by hand: values are simple)."""

    def toml_list(values: tuple[str, ...] | list[str]) -> str:
        return "[" + ", ".join(f'"{value}"' for value in values) + "]"

    return "\n".join(
        [
            "",
            "[tool.mutmut]",
            f"source_paths = {toml_list(SOURCE_PACKAGES)}",
            f"only_mutate = {toml_list([module.path])}",
            f"also_copy = {toml_list(ALSO_COPY)}",
            f"pytest_add_cli_args_test_selection = {toml_list(module.tests)}",
            # No example database and no deadline: a test result must depend on the mutant alone, not on how
            # slowly a loaded machine ran it (see tests/conftest.py). --no-migrations: every mutant's test run
            # creates its own SQLite test database, and building it from the models takes a fifth of the time of
            # migrating it. On SQLite the schema is the same (the migrations' SQL is PostgreSQL-only and their
            # data steps act on existing rows; `make migrations-check` holds models and migrations together),
            # and the unmutated run that mutmut makes first would fail if a test needed anything else.
            'pytest_add_cli_args = ["--hypothesis-profile=mutation", "-p", "no:cacheprovider", "--no-migrations"]',
            # A mutant is timed out after 15 times its tests' recorded duration plus this many seconds. The
            # recorded duration leaves out fixtures and database set-up, so a small constant times out mutants
            # that merely ran on a busy machine, and counts them killed. None of these modules loops.
            "timeout_constant = 60",
            "use_git_change_detection = false",  # every run starts from nothing (see above)
            "",
        ]
    )


def prepare(module: Module) -> Path:
    """A new scratch directory that looks like the repository to mutmut: links to the sources and tests, and the
    project's pyproject.toml with this module's [tool.mutmut] table added."""
    workdir = BUILD / module.name
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    for name in (*SOURCE_PACKAGES, *ALSO_COPY, "tests"):
        (workdir / name).symlink_to(ROOT / name, target_is_directory=(ROOT / name).is_dir())
    pyproject = (ROOT / "pyproject.toml").read_text()
    if "[tool.mutmut]" in pyproject:
        raise SystemExit("pyproject.toml must not configure mutmut itself: scripts/mutation.py does, per module.")
    config = pyproject + mutmut_config(module)
    tomllib.loads(config)  # fail here, not inside mutmut, if the table is malformed
    (workdir / "pyproject.toml").write_text(config)
    return workdir


def environment() -> dict[str, str]:
    """SQLite and throwaway keys: the settings of `make test` without DATABASE_URL."""
    env = {key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "REQUIRE_ALL_BACKENDS"}}
    env.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production-use-0123456789abcdef")
    env.setdefault("PERSONAL_ID_HMAC_KEY", "test-only-personal-id-hmac-key-not-for-production-0123456789")
    env.setdefault("LEDGER_SIGNING_KEY", "test-only-ledger-signing-key-not-for-production-0123456789")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def mutmut(workdir: Path, *args: str, capture: bool = True) -> str:
    result = subprocess.run(  # noqa: S603 (our own venv's mutmut, fixed arguments)
        [str(MUTMUT), *args], cwd=workdir, env=environment(), capture_output=capture, text=True, check=False
    )
    if result.returncode != 0:
        output = (result.stdout or "") + (result.stderr or "")
        raise SystemExit(f"mutmut {' '.join(args)} failed in {workdir} (exit {result.returncode})\n{output[-4000:]}")
    return result.stdout or ""


RESULT_LINE = re.compile(r"^\s+(?P<name>\S+): (?P<status>.+)$")


def run_module(module: Module, *, jobs: int) -> Outcome:
    started = time.monotonic()
    workdir = prepare(module)
    print(f"\n=== {module.name}: mutating {module.path}, against {' '.join(module.tests)}", flush=True)
    log = workdir / "mutmut-run.log"
    with log.open("w") as output:
        result = subprocess.run(  # noqa: S603
            [str(MUTMUT), "run", "--max-children", str(jobs)],
            cwd=workdir,
            env=environment(),
            stdout=output,
            stderr=subprocess.STDOUT,
            check=False,
        )
    if result.returncode != 0:
        tail = log.read_text(errors="replace")[-4000:]
        raise SystemExit(f"mutmut run failed for {module.name} (exit {result.returncode}); see {log}\n{tail}")
    outcome = Outcome(module)
    for line in mutmut(workdir, "results", "--all=true").splitlines():
        match = RESULT_LINE.match(line)
        if match:
            outcome.statuses[match["name"]] = match["status"].strip()
    for name in outcome.survivors:
        outcome.diffs[name] = mutmut(workdir, "show", name).strip()
    outcome.seconds = time.monotonic() - started
    return outcome


def report(outcomes: list[Outcome]) -> str:
    today = dt.datetime.now(dt.UTC).date().isoformat()
    lines = [
        f"Mutation run of {today} (mutmut, SQLite; each module against its own tests)",
        "",
        "| module | mutants | killed | survived | score | minimum | time |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for outcome in outcomes:
        lines.append(
            f"| `{outcome.module.path}` | {len(outcome.statuses)} | {outcome.killed} | {len(outcome.survivors)} "
            f"| {outcome.score:.1f} % | {outcome.module.minimum:.0f} % | {outcome.seconds / 60:.1f} min |"
        )
    for outcome in outcomes:
        if not outcome.survivors:
            continue
        lines += ["", f"Survivors in `{outcome.module.path}`:", ""]
        for name in outcome.survivors:
            lines += [f"- `{name}` ({outcome.statuses[name]})", "", "```diff", outcome.diffs[name], "```"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("modules", nargs="*", help=f"module names (default: all of {[m.name for m in MODULES]})")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="mutants tested at once")
    args = parser.parse_args(argv)
    by_name = {module.name: module for module in MODULES}
    unknown = [name for name in args.modules if name not in by_name]
    if unknown:
        parser.error(f"unknown module(s) {unknown}; known: {sorted(by_name)}")
    selected = [by_name[name] for name in args.modules] if args.modules else list(MODULES)
    outcomes = [run_module(module, jobs=args.jobs) for module in selected]
    summary = report(outcomes)
    (BUILD / "summary.md").write_text(summary)
    print("\n" + summary)
    print(f"(written to {(BUILD / 'summary.md').relative_to(ROOT)})")
    failed = [outcome.module.name for outcome in outcomes if not outcome.passed]
    if failed:
        print(f"Below the minimum score (or unfinished): {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
