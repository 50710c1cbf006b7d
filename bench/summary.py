"""What a benchmark hands back: figures, each a value next to the baseline measured in the same run, and a goal.

Every module of ``bench`` exposes ``parser()`` and ``measure(args) -> list[Figure]``; its ``main()`` prints what it
always printed and, with ``--json PATH``, writes its figures there, which is how ``bench.all`` collects them from
a child process. ``render_table`` is the one table ``make bench`` prints.
"""

from __future__ import annotations

import argparse
import json
import math
import operator
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
}
SYMBOLS = {">=": "≥", ">": ">", "<=": "≤", "<": "<"}
YES_NO = "yes/no"  # the unit of a figure that is 1.0 (yes) or 0.0 (no), e.g. "all checks passed"


@dataclass(frozen=True)
class Goal:
    """``ratio`` (value / baseline) or ``value`` compared with ``threshold`` by ``op`` (one of COMPARISONS)."""

    op: str
    threshold: float
    on: str = "ratio"  # or "value"
    text: str = ""  # how the table states it; "≥ 0.6×" (ratio) or "≤ 15 ms" (value) when empty

    def __post_init__(self) -> None:
        if self.op not in COMPARISONS or self.on not in ("ratio", "value"):
            raise ValueError(f"goal {self.op!r} on {self.on!r}")


@dataclass(frozen=True)
class Figure:
    benchmark: str
    label: str
    value: float
    unit: str
    baseline_label: str = ""
    baseline: float | None = None
    goal: Goal | None = None

    @property
    def ratio(self) -> float | None:
        """value / baseline; None without a baseline (or with one of zero or NaN: nothing to divide by)."""
        if self.baseline is None or self.baseline == 0 or math.isnan(self.baseline):
            return None
        return self.value / self.baseline

    @property
    def met(self) -> bool | None:
        """Whether the goal is met; None when there is no goal, or it is on a ratio that has no baseline."""
        if self.goal is None:
            return None
        subject = self.ratio if self.goal.on == "ratio" else self.value
        if subject is None:
            return None
        return COMPARISONS[self.goal.op](subject, self.goal.threshold)  # NaN compares False: not met

    @property
    def goal_text(self) -> str:
        if self.goal is None:
            return ""
        if self.goal.text:
            return self.goal.text
        symbol, threshold = SYMBOLS[self.goal.op], f"{self.goal.threshold:g}"
        return f"{symbol} {threshold}×" if self.goal.on == "ratio" else f"{symbol} {threshold} {self.unit}".rstrip()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Figure:
        goal = data.get("goal")
        fields = {**data, "goal": Goal(**goal) if goal else None}
        return cls(**fields)


# --- Numbers and the table -------------------------------------------------------------------------------------


def number(value: float | None) -> str:
    """Few digits, as many as the size calls for: 2,345 / 123 / 12.3 / 1.23 / 0.0123."""
    if value is None or math.isnan(value):
        return "n/a"
    size = abs(value)
    if size >= 100:
        return f"{value:,.0f}"
    if size >= 10:
        return f"{value:.1f}"
    if size >= 1 or size == 0:
        return f"{value:.2f}"
    return f"{value:.3g}"


def ratio_text(ratio: float | None) -> str:
    """Two decimals (0.62×) where the goals sit (0.3 to 5), two significant digits below 0.1 (0.031×), and as a
    number of that size above 10 (96.8×, 196×)."""
    if ratio is None:
        return "–"
    if abs(ratio) >= 10:
        return f"{number(ratio)}×"
    return f"{ratio:.2f}×" if abs(ratio) >= 0.1 or math.isnan(ratio) else f"{ratio:.2g}×"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def met_text(figure: Figure) -> str:
    if figure.goal is None:
        return "–"
    met = figure.met
    return "n/a" if met is None else "yes" if met else "no"


COLUMNS = ("benchmark", "figure", "value", "baseline", "ratio", "goal", "met?")


def render_table(figures: Iterable[Figure], crashed: dict[str, str] | None = None) -> str:
    """One markdown row per figure; a benchmark in ``crashed`` (name → why) gets one row saying so."""
    rows = ["| " + " | ".join(COLUMNS) + " |", "|---|---|---:|---|---:|---|---|"]
    for f in figures:
        value = ("yes" if f.value else "no") if f.unit == YES_NO else f"{number(f.value)} {f.unit}".rstrip()
        baseline = f"{f.baseline_label}: {number(f.baseline)}" if f.baseline is not None else "–"
        ratio = ratio_text(f.ratio)
        cells = (f.benchmark, f.label, value, baseline, ratio, f.goal_text or "–", met_text(f))
        rows.append("| " + " | ".join(_cell(cell) for cell in cells) + " |")
    for name, why in (crashed or {}).items():
        rows.append(f"| {_cell(name)} | **crashed**: {_cell(why)} | – | – | – | – | – |")
    return "\n".join(rows)


# --- Files -----------------------------------------------------------------------------------------------------


def write_figures(path: str | Path, figures: Sequence[Figure], **extra: Any) -> None:
    """``{"figures": [...], **extra}`` as JSON (NaN stays NaN: Python reads it back)."""
    Path(path).write_text(json.dumps({**extra, "figures": [f.to_dict() for f in figures]}, indent=2) + "\n")


def read_figures(path: str | Path) -> list[Figure]:
    return [Figure.from_dict(item) for item in json.loads(Path(path).read_text())["figures"]]


# --- The options every benchmark shares ------------------------------------------------------------------------


def add_run_options(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("--quick", action="store_true", help="the smallest sizes that still exercise everything")
    parser.add_argument("--json", metavar="PATH", help="also write the figures there (what bench.all reads)")
    return parser


def parse(parser: argparse.ArgumentParser, quick: Sequence[str], argv: Sequence[str] | None = None) -> Any:
    """Parse ``argv``; with ``--quick``, parse ``quick`` first and ``argv`` after it, so explicit options win."""
    given = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(given)
    return parser.parse_args([*quick, *given]) if args.quick else args


def finish(args: argparse.Namespace, figures: Sequence[Figure]) -> None:
    if getattr(args, "json", None):
        write_figures(args.json, figures)
