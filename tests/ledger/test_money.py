"""Money helpers: strict yuan parsing, two-decimal rendering, and the one floor-to-the-fen rounding."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.money import YUAN_PATTERN, apply_rate_round_down, fen_to_yuan, yuan_text_to_fen, yuan_to_fen


@pytest.mark.parametrize(
    ("value", "fen"),
    [
        ("1234.50", 123_450),
        ("1234.5", 123_450),
        ("0.01", 1),
        ("0", 0),
        (" 7 ", 700),
        ("-3.20", -320),
        (Decimal("3"), 300),
        (Decimal("0.10"), 10),
        (12, 1_200),
    ],
)
def test_yuan_to_fen_accepts_exact_amounts(value, fen):
    assert yuan_to_fen(value) == fen


@pytest.mark.parametrize(
    "value",
    [
        1.5,
        float("nan"),
        "NaN",
        "inf",
        "-Infinity",
        Decimal("NaN"),
        Decimal("Infinity"),
        "1.234",
        "1.500",
        Decimal("0.001"),
        "abc",
        "",
        "1e3",
        "1_000",
        "١٢",
        True,
        None,
        [1],
    ],
)
def test_yuan_to_fen_refuses_anything_inexact(value):
    with pytest.raises(ValueError, match=r"."):
        yuan_to_fen(value)


@pytest.mark.parametrize(
    ("fen", "text"), [(123_450, "1234.50"), (0, "0.00"), (1, "0.01"), (-5, "-0.05"), (100, "1.00")]
)
def test_fen_to_yuan(fen, text):
    assert fen_to_yuan(fen) == text


@pytest.mark.parametrize("value", [1.0, "1", Decimal(1), True])
def test_fen_to_yuan_refuses_non_integers(value):
    with pytest.raises(ValueError, match="int"):
        fen_to_yuan(value)


@pytest.mark.parametrize(
    ("fen", "rate", "expected"),
    [
        (999, Decimal("0.5"), 499),
        (1_000, Decimal("0.3"), 300),
        (1, Decimal("0.99"), 0),
        (333, Decimal("1") / Decimal("3"), 110),  # 110.999… is still 110
        (-999, Decimal("0.5"), -500),
        (10**15, Decimal("0.7"), 7 * 10**14),
    ],
)
def test_apply_rate_round_down_floors_to_the_fen(fen, rate, expected):
    assert apply_rate_round_down(fen, rate) == expected


@pytest.mark.parametrize(("fen", "rate"), [(100, 0.5), (100.0, Decimal("0.5")), (100, Decimal("NaN"))])
def test_apply_rate_round_down_refuses_floats(fen, rate):
    with pytest.raises(ValueError, match=r"."):
        apply_rate_round_down(fen, rate)


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_fen_yuan_round_trip(fen):
    assert yuan_to_fen(fen_to_yuan(fen)) == fen


@given(st.decimals(min_value=-(10**12), max_value=10**12, places=2, allow_nan=False, allow_infinity=False))
def test_yuan_fen_round_trip(amount):
    assert Decimal(fen_to_yuan(yuan_to_fen(amount))) == amount


@given(
    st.integers(min_value=0, max_value=10**15),
    st.decimals(min_value=0, max_value=1, places=6, allow_nan=False, allow_infinity=False),
)
def test_rate_result_never_exceeds_the_exact_product_by_any_amount(fen, rate):
    result = apply_rate_round_down(fen, rate)
    exact = Decimal(fen) * rate
    assert result <= exact < result + 1
    assert 0 <= result <= fen


@given(
    st.integers(min_value=0, max_value=10**12),
    st.decimals(min_value=0, max_value=1, places=4, allow_nan=False, allow_infinity=False),
)
def test_splitting_by_a_rate_never_creates_money(fen, rate):
    share = apply_rate_round_down(fen, rate)
    rest = apply_rate_round_down(fen, Decimal(1) - rate)
    assert share + rest <= fen


@pytest.mark.parametrize("value", ["10000000000000.01", "9" * 30, "1" + "0" * 70, -(10**14)])
def test_yuan_to_fen_refuses_amounts_beyond_the_largest(value):
    with pytest.raises(ValueError, match="larger than the largest"):
        yuan_to_fen(value)


def test_the_largest_amount_is_accepted():
    assert yuan_to_fen("10000000000000.00") == 10**15


@pytest.mark.parametrize(("text", "fen"), [("0", 0), ("0.5", 50), ("0.05", 5), ("100", 10000), ("1234.50", 123450)])
def test_yuan_text_reads_exactly_the_apis_spelling(text, fen):
    assert yuan_text_to_fen(text) == fen
    assert re.fullmatch(YUAN_PATTERN, text)


@pytest.mark.parametrize(
    "text",
    [
        100,
        Decimal("1"),
        None,
        "",
        " 100",
        "100 ",
        "100.00\n",
        "+100",
        "-1",
        "00100",
        "00",
        "01.5",
        "100.",
        ".5",
        "1.234",
        "1e3",
        "1,000",
        "１００",
        "١٠٠",
        "1_000",
        "NaN",
    ],
)
def test_yuan_text_refuses_anything_else(text):
    with pytest.raises(ValueError):  # noqa: PT011 (the message varies with the input; the type is the contract)
        yuan_text_to_fen(text)
