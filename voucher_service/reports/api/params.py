"""Query parameters of the report endpoints: exactly what the schema says, or a 400 naming the parameter."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from voucher_service.claims.models import ClaimStatus
from voucher_service.programs.rules import Payer
from voucher_service.vouchers.models import ApplicationStatus, VoucherStatus

MAX_ID = 2**63 - 1
EARLIEST, LATEST = date(1900, 1, 1), date(2999, 12, 31)


class AsOfField(serializers.DateTimeField):
    """A moment with its time zone, not in the future (a report of the future would change as it arrives)."""

    default_error_messages = {
        "future": _("The moment (as_of) cannot be in the future."),
        "range": _("The moment (as_of) must lie between 1900 and 2999."),
    }

    def to_internal_value(self, value: Any) -> datetime:
        try:
            moment = super().to_internal_value(value)
            if not EARLIEST <= timezone.localtime(moment).date() <= LATEST:
                self.fail("range")
        except (OverflowError, OSError):
            self.fail("range")
        if moment > timezone.now():
            self.fail("future")
        return moment


class DayField(serializers.DateField):
    default_error_messages = {"range": _("The date must lie between 1900-01-01 and 2999-12-31.")}

    def to_internal_value(self, value: Any) -> date:
        day = super().to_internal_value(value)
        if not EARLIEST <= day <= LATEST:
            self.fail("range")
        return day


def _id(help_text: Any) -> serializers.IntegerField:
    return serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID, help_text=help_text)


class AsOfParams(serializers.Serializer):
    as_of = AsOfField(
        required=False, help_text=_("The moment the report describes (ISO 8601 with a zone); now if absent.")
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("date_from") and attrs.get("date_to") and attrs["date_from"] > attrs["date_to"]:
            raise serializers.ValidationError({"date_to": [_("The end of the period is before its start.")]})
        return attrs


class RangeParams(AsOfParams):
    program = _id(_("Only this program's rows."))
    entity = _id(_("Only this entity's rows."))
    date_from = DayField(required=False, help_text=_("From this day (local time), inclusive."))
    date_to = DayField(required=False, help_text=_("To this day (local time), inclusive."))


class VoucherParams(RangeParams):
    status = serializers.ChoiceField(choices=VoucherStatus.choices, required=False, help_text=_("Status as of then."))
    fiscal_year = serializers.IntegerField(required=False, min_value=2000, max_value=2200)


class ApplicationParams(RangeParams):
    status = serializers.ChoiceField(
        choices=ApplicationStatus.choices, required=False, help_text=_("Status as of then.")
    )


class AuditLogParams(RangeParams):
    action = serializers.CharField(required=False, max_length=64, help_text=_("Only this action (voucher.issue…)."))
    actor = serializers.CharField(required=False, max_length=150, help_text=_("Only what this user did (username)."))
    target_type = serializers.CharField(
        required=False, max_length=64, help_text=_("Only events on this kind of record (vouchers.voucher…).")
    )
    target_id = serializers.CharField(
        required=False, max_length=64, help_text=_("Only events on the record with this id (with target_type).")
    )


class JournalParams(RangeParams):
    account = serializers.CharField(required=False, max_length=100, help_text=_("Only entries on this account code."))
    chain_from = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_ID,
        help_text=_("JSON Lines only: the first chain position to include (default: the first exported entry's)."),
    )


class ClaimParams(RangeParams):
    status = serializers.ChoiceField(choices=ClaimStatus.choices, required=False, help_text=_("Status as of then."))


class PayoutParams(RangeParams):
    payer = serializers.ChoiceField(
        choices=[payer.value for payer in Payer], required=False, help_text=_("Only this payer's shares.")
    )


class YearParams(AsOfParams):
    year = serializers.IntegerField(required=False, min_value=2000, max_value=2200, help_text=_("The fiscal year."))


PARAMS: dict[str, type[serializers.Serializer]] = {
    "budget-statement": YearParams,
    "cap-compliance": YearParams,
    "vouchers": VoucherParams,
    "applications": ApplicationParams,
    "audit-log": AuditLogParams,
    "journal": JournalParams,
    "claims": ClaimParams,
    "payouts": PayoutParams,
    "clawbacks": RangeParams,
}


def export_params(report_name: str, formats: tuple[str, ...]) -> type[serializers.Serializer]:
    """The report's parameters and ``file_format``."""
    base = PARAMS[report_name]
    file_format = serializers.ChoiceField(choices=list(formats), default="csv", help_text=_("The file format."))
    name = "".join(part.title() for part in report_name.split("-")) + "ExportParams"
    return type(name, (base,), {"file_format": file_format})


def raw_params(query: Any, serializer_class: type[serializers.Serializer]) -> dict[str, Any]:
    """The query parameters a serializer reads, as sent: what an export job stores to read the report again."""
    names: list[str] = list(serializer_class().fields.keys())
    return {name: query[name] for name in names if name in query}
