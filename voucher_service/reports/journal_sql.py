"""The journal's CSV rows rendered by PostgreSQL: one text value per row, the very bytes ``writers.csv_chunks``
would write for it cell by cell in Python (``tabular.text_cell`` and the csv module).

Exporting a million postings cell by cell costs ~70 µs a row in Python; here the database builds each line, and
Python only joins a batch of lines and encodes it. The rendering, cell by cell, is the Python one:

* integers as digits, NULL as an empty cell;
* money (integer fen) as yuan with two decimals by integer arithmetic (``ledger.money.fen_to_yuan``: ``-12.05``);
* datetimes in the reader's time zone as ``datetime.isoformat`` writes them (``2026-01-01T08:00:00+08:00``, the
  microseconds only when not zero, the offset's seconds only when not zero);
* text neutralised (``tabular.FORMULA_STARTS`` gets an apostrophe in front) and then quoted as the csv module's
  ``QUOTE_MINIMAL`` does: within double quotes, quotes doubled, when it holds a comma, a quote, CR or LF;
* cells joined by commas, each line ended by CRLF.

``tests/voucher_service/reports/test_journal_sql.py`` pins both renderings to the same bytes on awkward data.
Rows are read through a server-side cursor in batches (memory stays flat, and other statements, such as an export
job's progress, can run between batches). SQLite keeps the Python path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from django.db import connection
from django.db.models import Case, CharField, F, QuerySet, Value, When
from django.utils import timezone

from voucher_service.reports.tabular import FORMULA_STARTS, Kind, ReportContext

LINE_BATCH = 5000
# The alias of each column in the inner query, and how it is rendered; in the report's column order.
FIELDS: tuple[tuple[str, str, Kind], ...] = (
    ("j_entry", "entry_id", Kind.INT),
    ("j_position", "entry__chain_link__position", Kind.INT),
    ("j_hash", "entry__chain_link__hash", Kind.TEXT),
    ("j_digest", "entry__body_digest", Kind.TEXT),
    ("j_recorded", "entry__recorded_at", Kind.DATETIME),
    ("j_effective", "entry__effective_at", Kind.DATETIME),
    ("j_key", "entry__idempotency_key", Kind.TEXT),
    ("j_memo", "entry__memo", Kind.TEXT),
    ("j_posting", "pk", Kind.INT),
    ("j_account", "account__code", Kind.TEXT),
    ("j_direction", "direction", Kind.TEXT),
    ("j_amount", "amount", Kind.MONEY),
    ("j_version", "account_version", Kind.INT),
    ("j_balance", "balance_after", Kind.MONEY),
)
# What makes the csv module quote a cell (its delimiter, its quote character, and the line terminator's CR and LF).
NEEDS_QUOTES = '[",\r\n]'


def _literal(text: str) -> str:
    """A string constant in the SQL text (standard-conforming: quotes doubled; CR, LF and tab stand as they are)."""
    if "%" in text or "\x00" in text:
        raise ValueError("Not a constant for this SQL text.")
    return "'" + text.replace("'", "''") + "'"


def _text(column: str) -> str:
    """Neutralised, then quoted when needed. (A cell needs quotes exactly when its neutralised form does: the
    apostrophe is not special, and a cell starting with CR holds a CR.)"""
    starts = ", ".join(_literal(start) for start in FORMULA_STARTS)
    neutral = f"CASE WHEN left({column}, 1) IN ({starts}) THEN {_literal(chr(39))} || {column} ELSE {column} END"
    quoted = f"""'"' || replace({neutral}, '"', '""') || '"'"""
    return f"CASE WHEN {column} ~ {_literal(NEEDS_QUOTES)} THEN {quoted} ELSE {neutral} END"


def _money(column: str) -> str:
    """``ledger.money.fen_to_yuan`` in integers: sign, whole yuan, two digits of fen."""
    return (
        f"CASE WHEN {column} < 0 THEN '-' ELSE '' END || (abs({column}) / 100)::text || '.' "
        f"|| lpad(mod(abs({column}), 100)::text, 2, '0')"
    )


def _offset(seconds: str) -> str:
    """``+HH:MM`` (``:SS`` too when the offset has seconds) of an offset in whole seconds, as Python writes it."""
    magnitude = f"abs({seconds})"
    return (
        f"CASE WHEN {seconds} < 0 THEN '-' ELSE '+' END || lpad(({magnitude} / 3600)::text, 2, '0') || ':' "
        f"|| lpad(mod({magnitude} / 60, 60)::text, 2, '0') "
        f"|| CASE WHEN mod({magnitude}, 60) = 0 THEN '' ELSE ':' || lpad(mod({magnitude}, 60)::text, 2, '0') END"
    )


def _datetime(column: str) -> str:
    """``timezone.localtime(value).isoformat()``, in the zone the inner query names (``p.j_zone``)."""
    local = f"({column} AT TIME ZONE p.j_zone)"
    seconds = f"extract(epoch FROM {local} - ({column} AT TIME ZONE 'UTC'))::integer"
    return (
        f"""to_char({local}, 'YYYY-MM-DD"T"HH24:MI:SS') """
        f"|| CASE WHEN to_char({local}, 'US') = '000000' THEN '' ELSE to_char({local}, '.US') END "
        f"|| {_offset(seconds)}"
    )


RENDER: dict[Kind, Callable[[str], str]] = {
    Kind.INT: str,
    Kind.MONEY: _money,
    Kind.DATETIME: _datetime,
    Kind.TEXT: _text,
}


def _sealed_by(path: str, as_of: Any) -> Case:
    """The chain position or hash only if the entry was sealed by ``as_of`` (as ``JournalReport._row``)."""
    return Case(When(entry__chain_link__sealed_at__gt=as_of, then=None), default=F(path))


def line_query(postings: QuerySet, context: ReportContext) -> tuple[str, tuple[Any, ...]]:
    """The SQL that gives one rendered CSV line per posting, in the report's order, and its parameters (all of
    them the inner query's: the filters, ``as_of`` and the time zone)."""
    columns: dict[str, Any] = {
        alias: _sealed_by(path, context.as_of) if alias in ("j_position", "j_hash") else F(path)
        for alias, path, _kind in FIELDS
    }
    zone = Value(str(timezone.get_current_timezone()), output_field=CharField())
    inner = postings.order_by().values(**columns, j_zone=zone)
    inner_sql, inner_params = inner.query.sql_with_params()
    cells = ", ',', ".join(RENDER[kind](f"p.{alias}") for alias, _path, kind in FIELDS)
    end = _literal("\r\n")
    # Every piece is a constant of this module or Django's compiled query; the values travel as parameters.
    sql = f"SELECT concat({cells}, {end}) FROM ({inner_sql}) AS p ORDER BY p.j_entry, p.j_posting"  # noqa: S608
    return sql, tuple(inner_params)


def csv_lines(postings: QuerySet, context: ReportContext) -> Iterator[tuple[int, str]]:
    """The rendered rows, ``LINE_BATCH`` at a time: (number of rows, their text)."""
    sql, params = line_query(postings, context)
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(LINE_BATCH):
            yield len(rows), "".join([row[0] for row in rows])
