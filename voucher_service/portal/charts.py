"""The burn-down chart's geometry (drawn as SVG by ``portal/_burndown.svg.html``): where each figure of each point
lands. Presentation only; the figures come from ``reports.burndown``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ledger.money import fen_to_yuan
from voucher_service.reports.burndown import SERIES, BudgetPoint

WIDTH, HEIGHT = 640, 320
LEFT, RIGHT, TOP, BOTTOM = 96, 16, 16, 40
COLOURS = {"issued": "#0b57d0", "held": "#b06000", "paid": "#1e7b34", "remaining": "#b3261e"}
LABELS = {"issued": _("Issued"), "held": _("Held"), "paid": _("Paid"), "remaining": _("Remaining")}


@dataclass
class Marker:
    x: float
    y: float
    yuan: str
    when: str


@dataclass
class Line:
    key: str
    label: Any
    colour: str
    markers: list[Marker] = field(default_factory=list)

    @property
    def points(self) -> str:
        return " ".join(f"{m.x:.1f},{m.y:.1f}" for m in self.markers)


@dataclass
class Chart:
    width: int
    height: int
    lines: list[Line]
    y_ticks: list[tuple[float, str]]  # (y, yuan)
    x_ticks: list[tuple[float, str]]  # (x, date)
    left: int = LEFT
    right: int = WIDTH - RIGHT
    top: int = TOP
    bottom: int = HEIGHT - BOTTOM


def _x(index: int, count: int) -> float:
    span = WIDTH - LEFT - RIGHT
    return LEFT + (span * index / (count - 1) if count > 1 else span)


def _y(fen: int, top: int) -> float:
    span = HEIGHT - TOP - BOTTOM
    return TOP + span * (1 - fen / top) if top else float(HEIGHT - BOTTOM)


def burndown_chart(points: list[BudgetPoint]) -> Chart:
    """Lines for issued, held, paid and remaining over ``points``; the y axis runs from 0 to the largest figure."""
    top = max([point.figures["cap"] for point in points] + [p.figures[k] for p in points for k in SERIES] + [0])
    stamps = [timezone.localtime(point.at).strftime("%Y-%m-%d %H:%M") for point in points]
    lines = []
    for key in SERIES:
        line = Line(key, LABELS[key], COLOURS[key])
        for index, point in enumerate(points):
            fen = point.figures[key]
            line.markers.append(Marker(_x(index, len(points)), _y(fen, top), str(fen_to_yuan(fen)), stamps[index]))
        lines.append(line)
    y_ticks = [(_y(top * q // 4, top), str(fen_to_yuan(top * q // 4))) for q in range(5)]
    x_ticks = [(_x(0, len(points)), stamps[0][:10]), (_x(len(points) - 1, len(points)), stamps[-1][:10])]
    return Chart(WIDTH, HEIGHT, lines, y_ticks, x_ticks if len(points) > 1 else x_ticks[1:])
