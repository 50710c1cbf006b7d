"""Reports as tables: typed columns, one row source, three renderings (JSON pages, CSV, XLSX).

A report yields rows of native values (money in integer fen, aware datetimes, dates, text, JSON-able values);
each rendering turns a cell into its own form. Rows come in a stable order (primary keys ascending, or an order
the report states), so the same report with the same ``as_of`` gives the same rows every time.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from itertools import islice
from typing import Any

from django.utils import timezone
from django.utils.functional import Promise

from ledger.money import FEN_PER_YUAN, fen_to_yuan
from voucher_service.reports.scope import ReportScope

# What a spreadsheet would run as a formula (OWASP's list: =, +, -, @, and a tab or carriage return first).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class Kind(StrEnum):
    TEXT = "text"
    MONEY = "money"  # integer fen: "1234.50" in JSON and CSV, a number with two decimals in XLSX
    INT = "int"
    DATETIME = "datetime"
    DATE = "date"
    BOOL = "bool"
    JSON = "json"


@dataclass(frozen=True)
class Column:
    key: str
    header: Promise | str  # translated when rendered (zh-hans by default, English with Accept-Language: en)
    kind: Kind = Kind.TEXT
    nullable: bool = False


@dataclass
class ReportContext:
    """One reading of a report: who reads, as of when, with which validated parameters."""

    user: Any
    scope: ReportScope
    as_of: datetime
    params: dict[str, Any] = field(default_factory=dict)


class Report:
    """A table of rows. Subclasses set ``name`` and ``columns`` and implement ``rows`` (and ``count`` when
    counting is cheaper than reading)."""

    name: str = ""
    title: Promise | str = ""
    columns: tuple[Column, ...] = ()
    file_formats: tuple[str, ...] = ("csv", "xlsx")
    # Per-program reports take the program in the path (/reports/programs/{id}/<name>/).
    per_program: bool = False

    def rows(self, context: ReportContext) -> Iterator[tuple[Any, ...]]:
        raise NotImplementedError

    def count(self, context: ReportContext) -> int:
        return sum(1 for _ in self.rows(context))

    def jsonl_chunks(self, context: ReportContext, progress: Any = None) -> Iterator[bytes]:
        raise NotImplementedError  # only the journal has a verifiable JSON Lines form

    def csv_lines(self, context: ReportContext) -> Iterator[tuple[int, str]] | None:
        """The CSV rows already rendered, as (number of rows, their text) batches, when the database renders them
        (the journal on PostgreSQL); None when they are rendered cell by cell (``text_cell``)."""
        return None

    def page(self, context: ReportContext, offset: int, limit: int) -> list[tuple[Any, ...]]:
        return list(islice(self.rows(context), offset, offset + limit))

    def headers(self) -> list[str]:
        return [str(column.header) for column in self.columns]


# --- Cells ---------------------------------------------------------------------------------------------------


def neutralise(text: str) -> str:
    """Text a spreadsheet would run as a formula is prefixed with an apostrophe, so it stays text."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _local(moment: datetime) -> datetime:
    return timezone.localtime(moment)


def json_cell(kind: Kind, value: Any) -> Any:
    if value is None:
        return None
    if kind == Kind.MONEY:
        return fen_to_yuan(int(value))
    if kind == Kind.DATETIME:
        return _local(value).isoformat()
    if kind == Kind.DATE:
        return value.isoformat()
    if kind == Kind.INT:
        return int(value)
    if kind == Kind.BOOL:
        return bool(value)
    if kind == Kind.JSON:
        return value
    return str(value)


def json_row(columns: tuple[Column, ...], row: tuple[Any, ...]) -> dict[str, Any]:
    return {column.key: json_cell(column.kind, value) for column, value in zip(columns, row, strict=True)}


def text_cell(kind: Kind, value: Any) -> str:
    """A cell of a CSV file: money "1234.50", datetimes ISO 8601 in local time, text neutralised."""
    if value is None:
        return ""
    if kind == Kind.MONEY:
        return fen_to_yuan(int(value))
    if kind == Kind.DATETIME:
        return _local(value).isoformat()
    if kind == Kind.DATE:
        return value.isoformat()
    if kind == Kind.INT:
        return str(int(value))
    if kind == Kind.BOOL:
        return "true" if value else "false"
    if kind == Kind.JSON:
        return neutralise(json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")))
    return neutralise(str(value))


def sheet_cell(kind: Kind, value: Any) -> Any:
    """A cell of an XLSX sheet: money a Decimal with two decimals, datetimes in local time (XLSX has no zones)."""
    if value is None:
        return None
    if kind == Kind.MONEY:
        return Decimal(int(value)) / FEN_PER_YUAN
    if kind == Kind.DATETIME:
        return _local(value).replace(tzinfo=None)
    if kind in (Kind.DATE, Kind.INT, Kind.BOOL):
        return value
    return text_cell(kind, value)
