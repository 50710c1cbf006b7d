"""Money helpers: amounts are integer 分 (fen) everywhere; 元 (yuan) strings exist only at the edges.

This module holds THE rounding rule of the project: ``apply_rate_round_down`` floors to the fen, so a
percentage never creates money that was not there. Floats are refused on the way in, because a binary float
cannot represent most decimal amounts exactly.
"""

from __future__ import annotations

import re
from decimal import Decimal, localcontext

FEN_PER_YUAN = 100
# Ten trillion yuan: far above any real budget, far below a 64-bit column. Anything larger is a typo or an attack,
# and refusing it here turns it into a clear 400 instead of a database overflow.
MAX_FEN = 10**15


class AmountTooLarge(ValueError):
    """The amount is above ``MAX_FEN``."""


# Enough digits that no amount within MAX_FEN is ever rounded by the decimal context itself.
_PRECISION = 60
# Rates are shares and percentages, so their decimal exponent is far inside ±60. A rate such as 1E+999999999 is
# refused: the exact arithmetic of apply_rate_round_down would otherwise build an integer of a billion digits.
_RATE_EXPONENT_LIMIT = 60
_PLAIN_DECIMAL = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?")
# The one spelling of an amount in yuan that crosses the API: ASCII digits with no sign, space or leading zero,
# and at most two decimals ("0.5", "100", "1234.50"). The OpenAPI schema publishes this very pattern.
YUAN_PATTERN = r"^(0|[1-9][0-9]*)(\.[0-9]{1,2})?$"
_YUAN_TEXT = re.compile(YUAN_PATTERN)


def yuan_to_fen(value: str | Decimal | int) -> int:
    """Convert an amount in yuan ("1234.5", Decimal("3"), 7) to integer fen, refusing anything inexact.

    More than two decimal places are refused even when the extra digits are zeros ("1.500"): an input that
    claims a precision finer than the fen is a bug upstream, not something to tidy up silently.
    """
    if isinstance(value, bool) or not isinstance(value, (str, Decimal, int)):
        raise ValueError(f"Amount must be a decimal string, Decimal or int, not {type(value).__name__}.")
    if isinstance(value, int):
        value = Decimal(value)
    if isinstance(value, str):
        if not _PLAIN_DECIMAL.fullmatch(value.strip()):
            raise ValueError(f"Amount {value!r} is not a plain decimal number such as 1234.50.")
        value = Decimal(value.strip())
    if not value.is_finite():
        raise ValueError(f"Amount must be a finite number, got {value!r}.")
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2:
        raise ValueError(f"Amount {value!r} has more than two decimal places; the smallest unit is 0.01 yuan.")
    if abs(value) > Decimal(MAX_FEN) / FEN_PER_YUAN:
        raise AmountTooLarge(
            f"Amount {value!r} is larger than the largest amount accepted ({MAX_FEN // FEN_PER_YUAN} yuan)."
        )
    with localcontext() as context:
        context.prec = _PRECISION
        return int(value * FEN_PER_YUAN)


def yuan_text_to_fen(text: str) -> int:
    """Convert a yuan string that matches ``YUAN_PATTERN`` exactly to fen; anything else is a ``ValueError``.

    ``yuan_to_fen`` is lenient about its caller's Decimals, ints and surrounding spaces; this is for input from
    outside (an API field, a CSV cell), where ``" 100 "``, ``"+100"``, ``"00100"`` or a JSON number is a mistake.
    """
    if not isinstance(text, str) or not _YUAN_TEXT.fullmatch(text):
        raise ValueError(f"Amount {text!r} is not a yuan string such as 1234.50.")
    return yuan_to_fen(text)


def fen_to_yuan(fen: int) -> str:
    """Render integer fen as a yuan string with exactly two decimals: 123450 -> "1234.50"."""
    if isinstance(fen, bool) or not isinstance(fen, int):
        raise ValueError(f"Fen must be an int, not {type(fen).__name__}.")
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), FEN_PER_YUAN)
    return f"{sign}{whole}.{cents:02d}"


def apply_rate_round_down(fen: int, rate: Decimal) -> int:
    """``fen * rate`` floored to a whole fen (towards minus infinity), exactly: the project's only rounding.

    The product is computed on integers (the rate as a ratio of two), so however many digits the rate has, no
    intermediate rounding can lift a result that is a hair below a whole fen up to it.
    """
    if isinstance(fen, bool) or not isinstance(fen, int):
        raise ValueError(f"Fen must be an int, not {type(fen).__name__}.")
    if not isinstance(rate, Decimal):
        raise ValueError(f"Rate must be a Decimal, not {type(rate).__name__}.")
    if not rate.is_finite():
        raise ValueError(f"Rate must be finite, got {rate!r}.")
    if rate and abs(rate.adjusted()) > _RATE_EXPONENT_LIMIT:
        raise ValueError(f"Rate {rate!r} is out of range.")
    numerator, denominator = rate.as_integer_ratio()
    return fen * numerator // denominator  # floor division: towards minus infinity
