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
    # One statement once the row exists: read and lock it (a new row is created, in a savepoint, the first time).
    counter, _created = SerialCounter.objects.select_for_update().get_or_create(program=program, fiscal_year=year)
    first = counter.last + 1
    counter.last += count
    counter.save(update_fields=["last"])
    prefix = serial_prefix(program)
    return [serial_format(prefix, year, sequence) for sequence in range(first, first + count)]


def token_new() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)
