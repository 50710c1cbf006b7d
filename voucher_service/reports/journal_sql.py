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
job's progress, can run between batches: which ``COPY … TO STDOUT`` would not allow on the same connection, and a
second connection would not see the caller's transaction). SQLite, and a reader's zone without an IANA name, keep
the Python path.
"""

from __future__ import annotations

from collections.abc import Iterator
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
NULLABLE = ("j_position", "j_hash")  # an entry not sealed by as_of has neither


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


def _awkward(columns: list[str]) -> str:
    """Whether any of these text cells needs care: one starts like a formula, or one holds a character that makes
    the csv module quote it. One regular expression over the cells joined by U+0001 (each cell follows one), so
    the usual row costs one match; a false alarm (data holding U+0001) only takes the careful path."""
    starts = "-" + "".join(start for start in FORMULA_STARTS if start != "-")
    pattern = f"{NEEDS_QUOTES}|\x01[{starts}]"
    return f"concat_ws(chr(1), '', {', '.join(columns)}) ~ {_literal(pattern)}"


def _plain(column: str, kind: Kind, nullable: bool) -> str:
    """A cell that needs no care (an integer, or text that is neither a formula nor needs quotes)."""
    value = column if kind == Kind.TEXT else f"{column}::text"
    return f"coalesce({value}, '')" if nullable else value


def _cells(careful: bool) -> str:
    """The line without its CRLF; ``careful``: every text cell neutralised and quoted as needed."""
    cells = []
    for alias, _path, kind in FIELDS:
        column = f"p.{alias}"
        if kind == Kind.MONEY:
            cells.append(_money(column))
        elif kind == Kind.DATETIME:
            cells.append(f"replace({column}_local, '.000000', '') || {_offset(column + '_offset')}")
        elif kind == Kind.TEXT and careful:
            cells.append(f"coalesce({_text(column)}, '')")
        else:
            cells.append(_plain(column, kind, alias in NULLABLE))
    return f"concat_ws(',', {', '.join(cells)})"


def zone_name() -> str | None:
    """The reader's time zone by its IANA name (which PostgreSQL knows too); None for a zone without one (a fixed
    offset, whose name PostgreSQL would read the POSIX way, with the sign reversed): then Python renders."""
    name = getattr(timezone.get_current_timezone(), "key", None)
    return name if isinstance(name, str) else None


def _sealed_by(path: str, as_of: Any) -> Case:
    """The chain position or hash only if the entry was sealed by ``as_of`` (as ``JournalReport._row``)."""
    return Case(When(entry__chain_link__sealed_at__gt=as_of, then=None), default=F(path))


def line_query(postings: QuerySet, context: ReportContext) -> tuple[str, tuple[Any, ...]]:
    """The SQL that gives one rendered CSV line per posting, in the report's order, and its parameters (all of
    them the inner query's: the filters, ``as_of`` and the time zone).

    Four levels, each computing what the next one reads more than once (``OFFSET 0`` keeps a level from being
    merged into the next, which would compute it again at every use): Django's query of the columns; the local
    wall time of each datetime (a time zone conversion by name is the dearest step) and whether any text cell
    needs care; the wall time written out and its offset from UTC; the line. Django's query is in the report's
    order, so the levels above it stream in that order (the outer ORDER BY costs no second sort)."""
    columns: dict[str, Any] = {
        alias: _sealed_by(path, context.as_of) if alias in NULLABLE else F(path) for alias, path, _kind in FIELDS
    }
    zone = Value(zone_name(), output_field=CharField())
    inner_sql, inner_params = postings.values(**columns, j_zone=zone).query.sql_with_params()
    times = [f"p.{alias}" for alias, _path, kind in FIELDS if kind == Kind.DATETIME]
    texts = [f"p.{alias}" for alias, _path, kind in FIELDS if kind == Kind.TEXT]
    walls = ", ".join(f"{column} AT TIME ZONE p.j_zone AS {column[2:]}_wall" for column in times)
    written = ", ".join(
        f"""to_char({column}_wall, 'YYYY-MM-DD"T"HH24:MI:SS.US') AS {column[2:]}_local, """
        f"extract(epoch FROM {column}_wall - ({column} AT TIME ZONE 'UTC'))::integer AS {column[2:]}_offset"
        for column in times
    )
    # Every piece is a constant of this module or Django's compiled query; the values travel as parameters.
    order = "ORDER BY p.j_entry, p.j_posting"
    level_1 = f"SELECT p.*, {walls}, {_awkward(texts)} AS j_awkward FROM ({inner_sql}) AS p {order} OFFSET 0"  # noqa: S608
    level_2 = f"SELECT p.*, {written} FROM ({level_1}) AS p {order} OFFSET 0"  # noqa: S608
    crlf = _literal("\r\n")
    line = f"CASE WHEN p.j_awkward THEN {_cells(careful=True)} ELSE {_cells(careful=False)} END || {crlf}"
    sql = f"SELECT {line} FROM ({level_2}) AS p {order}"  # noqa: S608
    return sql, tuple(inner_params)


def csv_lines(postings: QuerySet, context: ReportContext) -> Iterator[tuple[int, str]]:
    """The rendered rows, ``LINE_BATCH`` at a time: (number of rows, their text)."""
    sql, params = line_query(postings, context)
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(LINE_BATCH):
            yield len(rows), "".join([row[0] for row in rows])
