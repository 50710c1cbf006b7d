"""Voucher serials: readable, self-checking, and unique across programs."""

from types import SimpleNamespace

from voucher_service.vouchers.serials import serial_format, serial_is_valid, serial_prefix


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
