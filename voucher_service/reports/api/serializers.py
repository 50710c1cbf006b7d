"""Serializers of the report API. The rows of each report are described from its columns, so the schema says
exactly what the JSON pages carry (money as yuan strings, moments ISO 8601 in local time)."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.api.strict import StrictSerializer
from accounts.models import Organization
from ledger.models import VerificationRun
from voucher_service.programs.models import Program
from voucher_service.reports.models import AuditorGrant, ExportJob, VerificationRequest
from voucher_service.reports.tabular import Kind, Report

SIGNED_YUAN_PATTERN = r"^-?(0|[1-9][0-9]*)\.[0-9]{2}$"


@extend_schema_field({"type": "string", "pattern": SIGNED_YUAN_PATTERN, "example": "1234.50"})
class MoneyOut(serializers.CharField):
    """An amount in yuan with two decimals; negative only where a figure can be (an account's balance)."""


def _field(kind: Kind, nullable: bool) -> serializers.Field:
    options: dict[str, Any] = {"allow_null": nullable, "read_only": True}
    if kind == Kind.MONEY:
        return MoneyOut(**options)
    if kind == Kind.INT:
        return serializers.IntegerField(**options)
    if kind == Kind.DATETIME:
        return serializers.DateTimeField(**options)
    if kind == Kind.DATE:
        return serializers.DateField(**options)
    if kind == Kind.BOOL:
        return serializers.BooleanField(**options)
    if kind == Kind.JSON:
        return serializers.JSONField(**options)
    return serializers.CharField(**options)


def _class_name(report: Report, suffix: str) -> str:
    return "".join(part.title() for part in report.name.split("-")) + suffix


def row_serializer(report: Report) -> type[serializers.Serializer]:
    fields = {column.key: _field(column.kind, column.nullable) for column in report.columns}
    return type(_class_name(report, "Row"), (serializers.Serializer,), fields)


def page_serializer(report: Report, **extra: serializers.Field) -> type[serializers.Serializer]:
    fields = {
        "as_of": serializers.DateTimeField(read_only=True),
        "count": serializers.IntegerField(read_only=True),
        "offset": serializers.IntegerField(read_only=True),
        "limit": serializers.IntegerField(read_only=True),
        **extra,
        "results": row_serializer(report)(many=True, read_only=True),
    }
    return type(_class_name(report, "Page"), (serializers.Serializer,), fields)


class ChainHeadSerializer(serializers.Serializer):
    height = serializers.IntegerField()
    hash = serializers.CharField()


class PartSerializer(serializers.Serializer):
    account = serializers.CharField()
    side = serializers.ChoiceField(choices=["posted_debits", "posted_credits", "pending_debits"])
    sign = serializers.IntegerField()
    amount = MoneyOut()


class FigureSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]
    amount = MoneyOut()
    accounts = PartSerializer(many=True)


class PayerSerializer(serializers.Serializer):
    payer = serializers.CharField()
    paid = FigureSerializer()
    clawed_back = FigureSerializer()


class IdentitySerializer(serializers.Serializer):
    key = serializers.CharField()
    formula = serializers.CharField()
    left = MoneyOut()
    right = MoneyOut()
    holds = serializers.BooleanField()


class BudgetStatementSerializer(serializers.Serializer):
    program = serializers.IntegerField()
    program_code = serializers.CharField()
    year = serializers.IntegerField()
    as_of = serializers.DateTimeField()
    chain_head = ChainHeadSerializer()
    balanced = serializers.BooleanField(help_text="Both identities hold.")
    figures = FigureSerializer(many=True)
    payers = PayerSerializer(many=True)
    identities = IdentitySerializer(many=True)


class ExportJobSerializer(serializers.ModelSerializer):
    status_url = serializers.SerializerMethodField()
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = ExportJob
        fields = [
            "id",
            "report",
            "file_format",
            "status",
            "as_of",
            "total_rows",
            "rows_written",
            "file_size",
            "file_sha256",
            "failure_message",
            "created_at",
            "started_at",
            "finished_at",
            "expires_at",
            "status_url",
            "download_url",
        ]
        read_only_fields = fields

    def get_status_url(self, job: ExportJob) -> str:
        return self.context["request"].build_absolute_uri(reverse("report-export-detail", args=[job.pk]))

    def get_download_url(self, job: ExportJob) -> str | None:
        if job.status != "succeeded":
            return None
        return self.context["request"].build_absolute_uri(reverse("report-export-download", args=[job.pk]))


class VerificationRunSerializer(serializers.ModelSerializer):
    requested_by = serializers.SerializerMethodField()
    checks = serializers.SerializerMethodField()

    class Meta:
        model = VerificationRun
        fields = [
            "id",
            "started_at",
            "finished_at",
            "ok",
            "head_height",
            "head_hash",
            "entry_count",
            "requested_by",
            "checks",
        ]
        read_only_fields = fields

    def get_requested_by(self, run: VerificationRun) -> str | None:
        request = getattr(run, "request", None)
        return request.requested_by.username if request is not None else None

    def get_checks(self, run: VerificationRun) -> dict[str, Any]:
        report = run.report if isinstance(run.report, dict) else {}
        checks = report.get("checks")
        return checks if isinstance(checks, dict) else {}


class VerificationRequestSerializer(serializers.ModelSerializer):
    run = VerificationRunSerializer(read_only=True, allow_null=True)
    status_url = serializers.SerializerMethodField()

    class Meta:
        model = VerificationRequest
        fields = ["id", "status", "requested_at", "finished_at", "failure_message", "run", "status_url"]
        read_only_fields = fields

    def get_status_url(self, request: VerificationRequest) -> str:
        return self.context["request"].build_absolute_uri(reverse("report-verification-detail", args=[request.pk]))


class CurrentHeadSerializer(serializers.Serializer):
    height = serializers.IntegerField()
    hash = serializers.CharField()
    pin = serializers.CharField(help_text="HEIGHT:HASH, to keep and give to the offline verifier later.")
    unsealed = serializers.IntegerField(help_text="Entries committed and not yet in the chain (normally near 0).")
    last_verification = VerificationRunSerializer(allow_null=True)


class AuditorGrantSerializer(serializers.ModelSerializer):
    grantee = serializers.CharField(source="grantee.username")
    granted_by = serializers.CharField(source="granted_by.username")
    programs = serializers.SerializerMethodField()
    in_force = serializers.SerializerMethodField()

    class Meta:
        model = AuditorGrant
        fields = [
            "id",
            "grantee",
            "audit_firm",
            "programs",
            "until",
            "note",
            "granted_by",
            "granted_at",
            "revoked_at",
            "in_force",
        ]
        read_only_fields = fields

    def get_programs(self, grant: AuditorGrant) -> list[int]:
        return sorted(program.pk for program in grant.programs.all())

    def get_in_force(self, grant: AuditorGrant) -> bool:
        from django.utils import timezone

        return grant.revoked_at is None and grant.until >= timezone.localdate()


class AuditorGrantCreateSerializer(StrictSerializer):
    audit_firm = serializers.PrimaryKeyRelatedField(
        queryset=Organization.objects.none(), pk_field=serializers.IntegerField()
    )
    username = serializers.CharField(max_length=150, help_text="The auditor's username in that firm.")
    programs = serializers.PrimaryKeyRelatedField(
        queryset=Program.objects.none(), many=True, pk_field=serializers.IntegerField()
    )
    until = serializers.DateField(help_text="The last day of the grant (inclusive).")
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")

    def validate_programs(self, programs: list[Program]) -> list[Program]:
        if not programs:
            raise serializers.ValidationError("Name at least one program.")
        return programs
