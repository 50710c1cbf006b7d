"""Voucher serials: readable, self-checking, and unique across programs."""

from types import SimpleNamespace

import pytest

from voucher_service.vouchers.models import SerialCounter
from voucher_service.vouchers.serials import serial_format, serial_is_valid, serial_prefix, serials_allocate


def test_a_serial_carries_a_check_character_that_catches_typos():
    serial = serial_format("BAODIN3", 2026, 42)
    assert serial.startswith("BAODIN3-2026-000042-")
    assert serial_is_valid(serial)
    typo = serial.replace("000042", "000043")
    swapped = serial.replace("000042", "000024")
    assert not serial_is_valid(typo)
    assert not serial_is_valid(swapped)


def test_programs_with_similar_codes_get_different_prefixes():
    first = SimpleNamespace(code="ningxia-compute-2026", pk=1)
    second = SimpleNamespace(code="ningxia-compute-2027", pk=12)
    chinese = SimpleNamespace(code="算力券", pk=5)
    assert serial_prefix(first) == "NINGXI1"
    assert serial_prefix(second) == "NINGXI12"
    assert serial_prefix(chinese) == "V5"
    assert serial_format(serial_prefix(first), 2026, 1) != serial_format(serial_prefix(second), 2026, 1)


@pytest.mark.django_db
def test_serials_run_on_per_program_year_from_one(program):
    # given a program with no serial handed out yet
    # when serials are reserved twice in 2026 and once in 2027
    first = serials_allocate(program, 2026, 2)
    then = serials_allocate(program, 2026, 3)
    next_year = serials_allocate(program, 2027, 1)
    # then each year's sequence runs on from 1 without a gap or a repeat, and the counter holds the last one
    assert [serial.split("-")[2] for serial in first + then] == ["000001", "000002", "000003", "000004", "000005"]
    assert next_year[0].split("-")[1:3] == ["2027", "000001"]
    assert SerialCounter.objects.get(program=program, fiscal_year=2026).last == 5
