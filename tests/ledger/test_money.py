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
    ("value", "reason"),
    [
        (1.5, "must be a decimal string, Decimal or int, not float"),
        (float("nan"), "not float"),
        ("NaN", "'NaN' is not a plain decimal number"),
        ("inf", "'inf' is not a plain decimal number"),
        ("-Infinity", "is not a plain decimal number"),
        (Decimal("NaN"), "must be a finite number, got Decimal('NaN')"),
        (Decimal("Infinity"), "must be a finite number, got Decimal('Infinity')"),
        (Decimal("sNaN"), "must be a finite number"),
        ("1.234", "Decimal('1.234') has more than two decimal places; the smallest unit is 0.01 yuan"),
        ("1.500", "has more than two decimal places"),
        (Decimal("0.001"), "Decimal('0.001') has more than two decimal places"),
        ("abc", "is not a plain decimal number such as 1234.50"),
        ("", "'' is not a plain decimal number"),
        ("1e3", "is not a plain decimal number"),
        ("1_000", "is not a plain decimal number"),
        ("١٢", "is not a plain decimal number"),
        (True, "not bool"),
        (None, "not NoneType"),
        ([1], "not list"),
    ],
)
def test_yuan_to_fen_refuses_anything_inexact_and_says_why(value, reason):
    # given: a value that is not exactly an amount in yuan
    # when / then: refused, with the reason named
    with pytest.raises(ValueError, match=re.escape(reason)):
        yuan_to_fen(value)


@pytest.mark.parametrize(
    ("fen", "text"), [(123_450, "1234.50"), (0, "0.00"), (1, "0.01"), (-5, "-0.05"), (100, "1.00")]
)
def test_fen_to_yuan(fen, text):
    assert fen_to_yuan(fen) == text


@pytest.mark.parametrize(("value", "kind"), [(1.0, "float"), ("1", "str"), (Decimal(1), "Decimal"), (True, "bool")])
def test_fen_to_yuan_refuses_non_integers(value, kind):
    with pytest.raises(ValueError, match=f"^Fen must be an int, not {kind}\\.$"):
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


def test_apply_rate_round_down_is_an_exact_floor_however_many_digits_the_rate_has():
    # given: rates a hair (1E-70) off a whole fen's worth: more digits than a decimal context of 60 keeps
    just_below_one = Decimal("0." + "9" * 70)
    just_above_a_third = Decimal("0." + "3" * 69 + "4")
    # when / then: the hair is not rounded away, neither up to the next fen nor down past the floor
    assert apply_rate_round_down(10**15, just_below_one) == 10**15 - 1
    assert apply_rate_round_down(1, just_below_one) == 0
    assert apply_rate_round_down(-1, Decimal("1E-50")) == -1
    assert apply_rate_round_down(3, just_above_a_third) == 1
    assert apply_rate_round_down(-3, just_above_a_third) == -2


@pytest.mark.parametrize(
    ("fen", "rate", "reason"),
    [
        (100, 0.5, "^Rate must be a Decimal, not float\\.$"),
        (100, 1, "^Rate must be a Decimal, not int\\.$"),
        (100.0, Decimal("0.5"), "^Fen must be an int, not float\\.$"),
        (True, Decimal("0.5"), "^Fen must be an int, not bool\\.$"),
        (100, Decimal("NaN"), "^Rate must be finite, got Decimal\\('NaN'\\)\\.$"),
        (100, Decimal("sNaN"), "^Rate must be finite, got Decimal\\('sNaN'\\)\\.$"),
        (100, Decimal("Infinity"), "^Rate must be finite, got Decimal\\('Infinity'\\)\\.$"),
        (100, Decimal("-Infinity"), "^Rate must be finite"),
        (100, Decimal("1E+61"), "^Rate Decimal\\('1E\\+61'\\) is out of range\\.$"),
        (100, Decimal("-1E+61"), "is out of range"),
        (100, Decimal("1E-61"), "is out of range"),
    ],
)
def test_apply_rate_round_down_refuses_what_is_not_an_int_and_a_finite_decimal(fen, rate, reason):
    # given: a float, a bool, an infinite or not-a-number rate, or one of absurd magnitude
    # when / then: the documented ValueError (not an OverflowError or InvalidOperation from inside decimal)
    with pytest.raises(ValueError, match=reason) as excinfo:
        apply_rate_round_down(fen, rate)
    assert type(excinfo.value) is ValueError


@pytest.mark.parametrize(
    ("rate", "expected"), [(Decimal("1E+60"), 10**60), (Decimal("1E-60"), 0), (Decimal("0E-100"), 0), (Decimal(0), 0)]
)
def test_apply_rate_round_down_accepts_every_rate_within_range(rate, expected):
    assert apply_rate_round_down(1, rate) == expected


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
    with pytest.raises(
        ValueError, match=re.escape("is larger than the largest amount accepted (10000000000000 yuan).")
    ):
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
    with pytest.raises(ValueError, match=re.escape(f"Amount {text!r} is not a yuan string such as 1234.50.")):
        yuan_text_to_fen(text)
