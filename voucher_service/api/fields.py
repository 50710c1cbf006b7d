"""Serializer fields shared by the API: money in 元 as decimal strings, stored as integer 分."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ledger.money import AmountTooLarge, fen_to_yuan, yuan_to_fen


@extend_schema_field({"type": "string", "pattern": r"^\d+(\.\d{1,2})?$", "example": "500000.00"})
class YuanField(serializers.Field):
    """Reads "1234.50" (or 1234) and gives 123450 fen; writes fen back as "1234.50".

    Floats are refused outright: a JSON number like 0.1 has already lost precision before we see it.
    """

    default_error_messages = {
        "invalid": _('Send an amount in yuan as a decimal string with at most two decimals, such as "1000.00".'),
        "min_value": _("The amount must be more than zero."),
        "max_value": _("The amount is larger than any budget: at most 10,000,000,000,000.00 yuan."),
    }

    def __init__(self, *, allow_zero: bool = False, **kwargs: Any) -> None:
        self.allow_zero = allow_zero
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, (bool, float)):
            self.fail("invalid")
        try:
            fen = yuan_to_fen(data if isinstance(data, int) else str(data).strip())
        except AmountTooLarge:
            self.fail("max_value")
        except (ValueError, TypeError):
            self.fail("invalid")
        if fen < 0 or (fen == 0 and not self.allow_zero):
            self.fail("min_value")
        return fen

    def to_representation(self, value: int) -> str:
        return fen_to_yuan(value)
