"""Writing a report's rows to a file: CSV (UTF-8 with a BOM, so Excel in Chinese reads it right) or XLSX (openpyxl's
write-only mode: rows go to disk as they come). Memory stays flat whatever the number of rows: rows are read in
batches from the database and written as they are read.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from voucher_service.reports.tabular import Column, Kind, Report, ReportContext, sheet_cell, text_cell

BOM = "\ufeff"
CSV_BATCH = 500
PROGRESS_EVERY = 5000
MONEY_FORMAT = "#,##0.00"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
DATE_FORMAT = "yyyy-mm-dd"
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "jsonl": "application/x-ndjson",
}
Progress = Callable[[int], None]


def csv_chunks(report: Report, context: ReportContext, progress: Progress | None = None) -> Iterator[bytes]:
    """The CSV file as a stream of byte chunks: the BOM and the headers, then rows ``CSV_BATCH`` at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(report.headers())
    kinds = [column.kind for column in report.columns]
    yield (BOM + buffer.getvalue()).encode()
    rendered = report.csv_lines(context)
    if rendered is not None:
        yield from _rendered_chunks(rendered, progress)
        return
    written = 0
    pending = 0
    buffer.seek(0)
    buffer.truncate()
    for row in report.rows(context):
        writer.writerow([text_cell(kind, value) for kind, value in zip(kinds, row, strict=True)])
        written += 1
        pending += 1
        if pending >= CSV_BATCH:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
            pending = 0
            if progress is not None and written % PROGRESS_EVERY == 0:
                progress(written)
    if pending:
        yield buffer.getvalue().encode()
    if progress is not None:
        progress(written)


def _rendered_chunks(batches: Iterator[tuple[int, str]], progress: Progress | None) -> Iterator[bytes]:
    """Rows the database rendered (``Report.csv_lines``), a batch at a time, with the same progress calls."""
    written = 0
    for rows, text in batches:
        reported = written // PROGRESS_EVERY
        written += rows
        yield text.encode()
        if progress is not None and written // PROGRESS_EVERY > reported:
            progress(written)
    if progress is not None:
        progress(written)


def _sheet_cell(sheet: Any, column: Column, value: Any) -> Any:
    cell_value = sheet_cell(column.kind, value)
    if column.kind == Kind.MONEY and cell_value is not None:
        cell = WriteOnlyCell(sheet, value=cell_value)
        cell.number_format = MONEY_FORMAT
        return cell
    if column.kind in (Kind.DATETIME, Kind.DATE) and cell_value is not None:
        cell = WriteOnlyCell(sheet, value=cell_value)
        cell.number_format = DATETIME_FORMAT if column.kind == Kind.DATETIME else DATE_FORMAT
        return cell
    if isinstance(cell_value, str):
        cell = WriteOnlyCell(sheet, value=cell_value)
        cell.data_type = "s"  # never a formula, whatever the text (it is neutralised too)
        return cell
    return cell_value


def write_xlsx(report: Report, context: ReportContext, target: IO[bytes], progress: Progress | None = None) -> int:
    """Write the report as one sheet to ``target`` (a binary file); returns the number of rows."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=report.name[:31] or "report")
    sheet.append(report.headers())
    written = 0
    for row in report.rows(context):
        sheet.append([_sheet_cell(sheet, column, value) for column, value in zip(report.columns, row, strict=True)])
        written += 1
        if progress is not None and written % PROGRESS_EVERY == 0:
            progress(written)
    workbook.save(target)
    if progress is not None:
        progress(written)
    return written


def write_file(
    report: Report, context: ReportContext, file_format: str, target: IO[bytes], progress: Progress | None = None
) -> None:
    """Write the report in ``file_format`` to ``target``."""
    if file_format == "xlsx":
        write_xlsx(report, context, target, progress)
        return
    chunks = report.jsonl_chunks(context, progress) if file_format == "jsonl" else csv_chunks(report, context, progress)
    for chunk in chunks:
        target.write(chunk)
