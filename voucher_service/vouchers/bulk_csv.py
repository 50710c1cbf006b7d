"""Reading a bulk-issuance CSV upload (columns ``uscc``, ``amount`` in yuan, optional ``memo``): the file checks
and the per-row checks, each error reported under ``rows.<n>.<column>`` in the reader's language.

Pure reading: nothing here writes. ``bulk.bulk_issuance_create`` calls ``bulk_file_parse`` and decides what to
queue.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext as _
from stdnum import exceptions as stdnum_errors
from stdnum.cn import uscc as uscc_number

from accounts.models import Organization
from core.errors import field_error
from ledger.money import AmountTooLarge, yuan_text_to_fen
from voucher_service.programs.models import Program
from voucher_service.programs.selectors import program_version_in_force
from voucher_service.vouchers.eligibility import entity_category_ok, entity_place_ok
from voucher_service.vouchers.errors import VoucherError, VoucherErrorCode


def unknown_entity_message() -> str:
    return _("No entity in the program's jurisdiction is registered with this code.")


REQUIRED_COLUMNS = ("uscc", "amount")
OPTIONAL_COLUMNS = ("memo",)
MAX_ROWS = 50_000
MAX_BYTES: int = settings.BULK_UPLOAD_MAX_BYTES


@dataclass
class ParsedRow:
    row: int  # 1-based data row number (the header is row 0), as a spreadsheet user counts them
    entity: Organization
    amount: int
    memo: str


@dataclass
class ParsedFile:
    rows: list[ParsedRow] = field(default_factory=list)
    errors: dict[str, list[dict[str, str]]] = field(default_factory=dict)

    def add_error(self, row: int, column: str, code: str, message: str) -> None:
        self.errors.setdefault(f"rows.{row}.{column}", []).append({"code": code, "message": message})

    @property
    def rejected_rows(self) -> list[dict[str, Any]]:
        by_row: dict[int, dict[str, Any]] = {}
        for path, errors in self.errors.items():
            _rows, number, column = path.split(".", 2)
            by_row.setdefault(int(number), {"row": int(number), "fields": {}})["fields"][column] = errors
        return [by_row[number] for number in sorted(by_row)]


def too_large_message() -> str:
    return _("The file is larger than %(size)s.") % {"size": filesizeformat(MAX_BYTES)}


def _file_error(message: str, code: str = "invalid") -> VoucherError:
    return VoucherError(VoucherErrorCode.INVALID, message, fields=field_error("file", code, message))


def _decode(content: bytes) -> str:
    if len(content) > MAX_BYTES:
        raise _file_error(too_large_message(), "too_large")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _file_error(
            _("The file is not UTF-8 text (row %(row)d). Save it as “CSV UTF-8” and upload it again.")
            % {"row": content[: exc.start].count(b"\n") + 1},
            "encoding",
        ) from exc
    if "\x00" in text:  # a binary file saved as .csv; no cell may hold NUL (PostgreSQL cannot store one)
        raise _file_error(_("The file contains NUL characters: it is not a text CSV."), "encoding")
    return text


def _reader(text: str) -> Iterator[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        yield from _rows(reader)
    except csv.Error as exc:  # e.g. a field over the csv module's size limit, or a stray NUL byte
        raise _file_error(
            _("The file is not a well-formed CSV (line %(line)d): check its quotes and separators.")
            % {"line": reader.line_num + 1},  # the lines read so far, then the one it choked on
        ) from exc


def _rows(reader: csv.DictReader) -> Iterator[dict[str, str]]:
    header = [name.strip().lower() for name in (reader.fieldnames or [])]
    missing = [column for column in REQUIRED_COLUMNS if column not in header]
    if missing:
        raise _file_error(
            _("Missing column(s): %(columns)s. The first line must name: uscc, amount[, memo].")
            % {"columns": ", ".join(missing)},
            "missing_columns",
        )
    reader.fieldnames = header
    for row in reader:
        yield {key: (value or "").strip() for key, value in row.items() if key}


def _parse_uscc(value: str) -> str | None:
    try:
        return uscc_number.validate(value)
    except stdnum_errors.ValidationError:
        return None


def _parse_amount(number: int, text: str, parsed: ParsedFile) -> int | None:
    """The amount column takes the API's yuan string ("1000.00"); a row error otherwise, in the reader's language."""
    try:
        amount = yuan_text_to_fen(text)
    except AmountTooLarge:
        message = _("The amount is larger than any budget: at most 10,000,000,000,000.00 yuan.")
        parsed.add_error(number, "amount", "max_value", message)
        return None
    except ValueError:
        parsed.add_error(
            number,
            "amount",
            "invalid",
            _('Send an amount in yuan as a decimal string with at most two decimals, such as "1000.00".'),
        )
        return None
    if amount == 0:
        parsed.add_error(number, "amount", "min_value", _("The amount must be more than zero."))
        return None
    return amount


def _check_row(
    number: int, raw: dict[str, str], entities: dict[str, Organization], parsed: ParsedFile
) -> ParsedRow | None:
    ok = True
    code = _parse_uscc(raw.get("uscc", ""))
    if code is None:
        parsed.add_error(number, "uscc", "invalid", _("Not a valid unified social credit code."))
        ok = False
    elif code not in entities:
        # One answer whether nobody has the code or somebody outside the program's jurisdiction does: an upload
        # must not tell an agency which codes are registered elsewhere.
        parsed.add_error(number, "uscc", "unknown", unknown_entity_message())
        ok = False
    amount = _parse_amount(number, raw.get("amount", ""), parsed)
    ok = ok and amount is not None
    if not ok or code is None or amount is None:
        return None
    return ParsedRow(row=number, entity=entities[code], amount=amount, memo=raw.get("memo", "")[:500])


def _check_eligibility(rows: list[ParsedRow], program: Program, parsed: ParsedFile) -> list[ParsedRow]:
    version = program_version_in_force(program, timezone.localdate())
    rules = version.parsed() if version else None
    kept = []
    for row in rows:
        if rules is None or not entity_category_ok(rules, row.entity):
            parsed.add_error(row.row, "uscc", "not_eligible", _("This entity's category is not eligible."))
        else:
            kept.append(row)
    return kept


def _at_most(rows: Iterator[dict[str, str]], limit: int) -> list[dict[str, str]]:
    """The rows, counted as they are read: one past ``limit`` refuses the file without reading the rest (a file
    of a million empty rows costs 50,001 small dicts, not a million)."""
    kept: list[dict[str, str]] = []
    for row in rows:
        if len(kept) == limit:
            raise _file_error(_("At most %(max)d rows per file.") % {"max": limit}, "too_many_rows")
        kept.append(row)
    return kept


def bulk_file_parse(content: bytes, program: Program) -> ParsedFile:
    """Check the upload for ``program``: the file as a whole (refused with a ``VoucherError``), then each row."""
    text = _decode(content)
    raw_rows = _at_most(_reader(text), MAX_ROWS)
    if not raw_rows:
        raise _file_error(_("The file has no data rows."), "empty")
    codes = {code for raw in raw_rows if (code := _parse_uscc(raw.get("uscc", "")))}
    # Only entities located in the program's jurisdiction exist for this upload (see _check_row).
    entities = {
        org.uscc: org
        for org in Organization.objects.filter(uscc__in=codes).select_related("jurisdiction")
        if org.uscc and entity_place_ok(program, org)
    }
    parsed, seen = ParsedFile(), dict[int, int]()
    rows = []
    for number, raw in enumerate(raw_rows, start=1):
        row = _check_row(number, raw, entities, parsed)
        if row is None:
            continue
        if row.entity.pk in seen:
            parsed.add_error(number, "uscc", "duplicate", _("Duplicate of row %(row)d.") % {"row": seen[row.entity.pk]})
            continue
        seen[row.entity.pk] = number
        rows.append(row)
    parsed.rows = _check_eligibility(rows, program, parsed)
    return parsed
