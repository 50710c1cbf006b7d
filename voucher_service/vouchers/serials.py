"""Voucher serial numbers and public verification tokens.

A serial reads ``<PREFIX>-<YEAR>-<SEQUENCE>-<CHECK>``, e.g. ``BAODIN3-2026-000042-7``: the program's prefix, the
fiscal year, a per-program-year sequence, and an ISO 7064 MOD 37,36 check character (python-stdnum) that catches
any single mistyped character and most transpositions when a serial is read out or typed.

The prefix is up to six letters of the program's code followed by the program's id. Letters then digits cannot
run into each other, so two programs never share a prefix (and so never a serial), even with similar codes.
"""

from __future__ import annotations

import re
import secrets

from django.db import connection
from stdnum.iso7064 import mod_37_36

from voucher_service.programs.models import Program
from voucher_service.vouchers.models import SerialCounter

PREFIX_LETTERS = 6
TOKEN_BYTES = 24  # 192 bits: unguessable, and short enough for a QR code


def serial_prefix(program: Program) -> str:
    letters = re.sub(r"[^A-Z]", "", program.code.upper())[:PREFIX_LETTERS] or "V"
    return f"{letters}{program.pk}"


def serial_format(prefix: str, year: int, sequence: int) -> str:
    body = f"{prefix}{year:04d}{sequence:06d}"
    return f"{prefix}-{year:04d}-{sequence:06d}-{mod_37_36.calc_check_digit(body)}"


def serial_is_valid(serial: str) -> bool:
    parts = serial.split("-")
    if len(parts) != 4:
        return False
    return mod_37_36.is_valid("".join(parts))


def serials_allocate(program: Program, year: int, count: int) -> list[str]:
    """Reserve ``count`` consecutive serials. Locks the program-year counter row until the caller commits."""
    # One statement, first time or not: the upsert creates the row or adds to it, and the row stays locked (the
    # update's lock) until commit, as a SELECT … FOR UPDATE then UPDATE would; a concurrent allocator waits on
    # the conflict and then adds to the committed value. Both PostgreSQL and SQLite (3.35+) speak it.
    quote = connection.ops.quote_name
    table, last_column = quote(SerialCounter._meta.db_table), quote("last")
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (program_id, fiscal_year, {last_column}) VALUES (%s, %s, %s) "  # noqa: S608
            f"ON CONFLICT (program_id, fiscal_year) DO UPDATE SET {last_column} = {table}.{last_column} + "
            f"excluded.{last_column} RETURNING {last_column}",
            [program.pk, year, count],
        )
        (last,) = cursor.fetchone()
    first = last - count + 1
    prefix = serial_prefix(program)
    return [serial_format(prefix, year, sequence) for sequence in range(first, first + count)]


def token_new() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)
