"""Serializers for the voucher API. Money is a yuan decimal string both ways (see voucher_service.api.fields)."""

from __future__ import annotations

import functools
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from accounts.api.strict import StrictSerializer
from accounts.models import EntityCategory, Organization
from voucher_service.api.fields import YuanField
from voucher_service.programs.models import Program
from voucher_service.vouchers.bulk_csv import MAX_BYTES, too_large_message
from voucher_service.vouchers.models import BulkIssuance, BulkMode, Issuance, Voucher, VoucherApplication
from voucher_service.vouchers.selectors import bulk_issuance_progress, voucher_balance


class ApplicationSerializer(serializers.ModelSerializer):
    requested_amount = YuanField(read_only=True)
    approved_amount = YuanField(read_only=True, allow_null=True)
    issuance = serializers.SerializerMethodField()

    class Meta:
        model = VoucherApplication
        fields = [
            "id",
            "program",
            "entity",
            "requested_amount",
            "approved_amount",
            "purpose",
            "award_code",
            "fiscal_year",
            "status",
            "eligibility",
            "submitted_at",
            "decided_at",
            "rejection_reason",
            "issuance",
        ]
        read_only_fields = fields

    def get_issuance(self, application: VoucherApplication) -> int | None:
        issuance = getattr(application, "issuance", None)
        return issuance.pk if issuance is not None else None


# ``program`` and ``entity`` are narrowed per caller (``querysets=``): anything else does not exist.
class ApplicationCreateSerializer(StrictSerializer):
    """An application (申领) for a voucher of a program, for one of your entities."""

    program = serializers.PrimaryKeyRelatedField(
        queryset=Program.objects.none(), pk_field=serializers.IntegerField()
    )  # narrowed per caller
    entity = serializers.PrimaryKeyRelatedField(
        queryset=Organization.objects.none(), pk_field=serializers.IntegerField()
    )
    amount = YuanField()
    purpose = serializers.CharField(max_length=1000)
    award_code = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")


class ApproveSerializer(StrictSerializer):
    amount = YuanField(required=False, help_text=_("At most the requested amount; the requested amount if absent."))


class ReasonSerializer(StrictSerializer):
    reason = serializers.CharField(max_length=1000)


class IssuanceSerializer(serializers.ModelSerializer):
    amount = YuanField(read_only=True)
    voucher_serial = serializers.CharField(source="voucher.serial", read_only=True, default=None)

    class Meta:
        model = Issuance
        fields = [
            "id",
            "kind",
            "program",
            "entity",
            "amount",
            "award_code",
            "fiscal_year",
            "status",
            "failure_code",
            "failure_message",
            "voucher",
            "voucher_serial",
            "application",
            "bulk",
            "bulk_row",
            "created_at",
            "completed_at",
        ]
        read_only_fields = fields


class AcceptedSerializer(serializers.Serializer):
    """The 202 answer to a request whose work runs in the background."""

    issuance = IssuanceSerializer()
    status_url = serializers.CharField()

    @staticmethod
    def build(issuance: Issuance, request: Any) -> dict[str, Any]:
        url = request.build_absolute_uri(reverse("issuance-detail", args=[issuance.pk]))
        return {"issuance": _issuance_representer().to_representation(issuance), "status_url": url}


@functools.cache
def _issuance_representer() -> IssuanceSerializer:
    """One ``IssuanceSerializer`` for every 202 answer, as a ``ListSerializer`` uses one child for all its items:
    a new serializer builds its seventeen fields from the model each time (about a tenth of an approval's own
    Python outside the services), and its fields keep no state between objects."""
    return IssuanceSerializer()


class AwardSerializer(StrictSerializer):
    program = serializers.PrimaryKeyRelatedField(queryset=Program.objects.none(), pk_field=serializers.IntegerField())
    entity = serializers.PrimaryKeyRelatedField(
        queryset=Organization.objects.none(), pk_field=serializers.IntegerField()
    )
    award_code = serializers.CharField(max_length=64)
    memo = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class VoucherSerializer(serializers.ModelSerializer):
    face_value = YuanField(read_only=True)
    closed_amount = YuanField(read_only=True)
    balance = serializers.SerializerMethodField(help_text=_("Read from the ledger, in yuan."))
    available = serializers.SerializerMethodField(help_text=_("Balance less amounts held by pending claims."))
    entity_name = serializers.CharField(source="entity.name", read_only=True)

    class Meta:
        model = Voucher
        fields = [
            "id",
            "serial",
            "token",
            "program",
            "entity",
            "entity_name",
            "fiscal_year",
            "face_value",
            "balance",
            "available",
            "award_code",
            "valid_from",
            "valid_until",
            "status",
            "issued_at",
            "closed_at",
            "close_reason",
            "closed_amount",
            "closed_to",
        ]
        read_only_fields = fields

    def get_balance(self, voucher: Voucher) -> str:
        return YuanField().to_representation(voucher_balance(voucher)["balance"])

    def get_available(self, voucher: Voucher) -> str:
        return YuanField().to_representation(voucher_balance(voucher)["available"])


class VoucherVerifySerializer(serializers.ModelSerializer):
    """What anyone holding a voucher may learn from its token: that it is genuine, whose it is, what is left.

    A maker is a person, not a company: their name is masked to its first character.
    """

    face_value = YuanField(read_only=True)
    balance = serializers.SerializerMethodField()
    program_name = serializers.CharField(source="program.name", read_only=True)
    holder = serializers.SerializerMethodField()

    class Meta:
        model = Voucher
        fields = ["serial", "program_name", "holder", "face_value", "balance", "valid_from", "valid_until", "status"]
        read_only_fields = fields

    def get_balance(self, voucher: Voucher) -> str:
        return YuanField().to_representation(voucher_balance(voucher)["balance"])

    def get_holder(self, voucher: Voucher) -> str:
        name = voucher.entity.name
        if voucher.entity.category == EntityCategory.MAKER:
            return name[:1] + "*" * max(len(name) - 1, 2)
        return name


class BulkCreateSerializer(StrictSerializer):
    program = serializers.PrimaryKeyRelatedField(queryset=Program.objects.none(), pk_field=serializers.IntegerField())
    mode = serializers.ChoiceField(choices=BulkMode.choices, default=BulkMode.ALL_OR_NOTHING)
    file = serializers.FileField(help_text=_("UTF-8 CSV with the columns uscc, amount (yuan) and optional memo."))
    allow_duplicate_file = serializers.BooleanField(
        default=False,
        help_text=_(
            "A file already uploaded for this program and year (same SHA-256) is refused with 409 unless this is true."
        ),
    )

    def validate_file(self, upload: Any) -> Any:
        # Refuse by the declared size before anything reads the upload into memory.
        if upload.size > MAX_BYTES:
            raise serializers.ValidationError(too_large_message(), code="too_large")
        return upload


class BulkSerializer(serializers.ModelSerializer):
    status_url = serializers.SerializerMethodField()
    processed_rows = serializers.SerializerMethodField()
    succeeded_rows = serializers.SerializerMethodField()
    percent = serializers.SerializerMethodField()

    class Meta:
        model = BulkIssuance
        fields = [
            "id",
            "status_url",
            "program",
            "fiscal_year",
            "mode",
            "status",
            "file_name",
            "file_sha256",
            "total_rows",
            "processed_rows",
            "succeeded_rows",
            "failed_rows",
            "percent",
            "rejected_rows",
            "failure_message",
            "created_at",
            "started_at",
            "completed_at",
        ]
        read_only_fields = fields

    def get_status_url(self, bulk: BulkIssuance) -> str:
        path = reverse("bulk-issuance-detail", args=[bulk.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path

    def get_processed_rows(self, bulk: BulkIssuance) -> int:
        return bulk_issuance_progress(bulk)["processed_rows"]

    def get_succeeded_rows(self, bulk: BulkIssuance) -> int:
        return bulk_issuance_progress(bulk)["succeeded_rows"]

    def get_percent(self, bulk: BulkIssuance) -> int:
        return 100 if not bulk.total_rows else bulk_issuance_progress(bulk)["processed_rows"] * 100 // bulk.total_rows
