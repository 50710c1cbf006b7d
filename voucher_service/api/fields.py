"""Serializer fields shared by the API: money in 元 as decimal strings, stored as integer 分."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ledger.money import YUAN_PATTERN, AmountTooLarge, fen_to_yuan, yuan_text_to_fen


@extend_schema_field({"type": "string", "pattern": YUAN_PATTERN, "example": "500000.00"})
class YuanField(serializers.Field):
    """Reads "1234.50" and gives 123450 fen; writes fen back as "1234.50".

    Only a JSON string matching the schema's pattern is read: a JSON number (0.1 has lost precision before we see
    it, and 100 is not what the schema says), a sign, spaces or a leading zero are refused alike.
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
        try:
            fen = yuan_text_to_fen(data)
        except AmountTooLarge:
            self.fail("max_value")
        except ValueError:
            self.fail("invalid")
        if fen == 0 and not self.allow_zero:
            self.fail("min_value")
        return fen

    def to_representation(self, value: int) -> str:
        return fen_to_yuan(value)
