"""Field validators for identity numbers, built on python-stdnum (not hand-written check-digit code)."""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from stdnum import exceptions as stdnum_errors
from stdnum.cn import ric, uscc


def normalize_uscc(value: str) -> str:
    return uscc.compact(value or "")


def uscc_with_check_character(first_17: str) -> str:
    """The 18-character code that starts with these 17 characters, ending in its check character (GB 32100)."""
    return first_17 + uscc.calc_check_digit(first_17)


def uscc_numbered(number: int, *, division: str = "640100") -> str:
    """A valid code for enterprise number ``number`` registered in ``division`` (registration authority 9,
    industry and commerce; type 1, enterprise): the one generator of made-up codes for tests, benchmarks and
    the demo."""
    return uscc_with_check_character(f"91{division}{number:09d}")


def validate_uscc(value: str) -> None:
    """统一社会信用代码 (GB 32100-2015): 18 characters with a check character."""
    try:
        uscc.validate(value)
    except stdnum_errors.InvalidLength as exc:
        raise ValidationError(
            _("A unified social credit code has 18 characters; this one has %(length)d."),
            code="invalid_length",
            params={"length": len(normalize_uscc(value))},
        ) from exc
    except stdnum_errors.InvalidChecksum as exc:
        raise ValidationError(
            _("The check character of this unified social credit code is wrong."), code="invalid_checksum"
        ) from exc
    except stdnum_errors.ValidationError as exc:
        raise ValidationError(_("This is not a valid unified social credit code."), code="invalid_format") from exc


def validate_personal_id(value: str) -> None:
    """居民身份证号码 (GB 11643), checked and then thrown away by the caller: only a digest is kept."""
    try:
        ric.validate(value)
    except stdnum_errors.ValidationError as exc:
        raise ValidationError(_("This is not a valid resident identity card number."), code="invalid") from exc


def personal_id_digest(value: str) -> str:
    """A keyed digest so duplicates are detectable but the number cannot be recovered by brute force."""
    key = settings.PERSONAL_ID_HMAC_KEY.encode()
    return hmac.new(key, ric.compact(value).encode(), hashlib.sha256).hexdigest()


HINT_VISIBLE = 4  # 身份证后四位: the usual partial display, enough to tell two makers apart


def personal_id_hint(value: str) -> str:
    """The last four characters, the rest masked. (Showing the leading province code as well, as before, left
    only the birth date and sequence to guess against the registration endpoint.)"""
    compact = ric.compact(value)
    return "*" * (len(compact) - HINT_VISIBLE) + compact[-HINT_VISIBLE:]
