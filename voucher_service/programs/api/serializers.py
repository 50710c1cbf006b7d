"""Serializers for the programs API. They check shapes and types; the services and rules.py own the rules.

Money is a yuan decimal string ("40000000.00") both ways; rates and shares are decimal strings ("0.30").
"""

from __future__ import annotations

from typing import Any, cast

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.api.strict import StrictSerializer
from accounts.models import Jurisdiction, Organization, OrganizationKind
from ledger.money import fen_to_yuan
from voucher_service.api.fields import YuanField
from voucher_service.programs import selectors
from voucher_service.programs.models import (
    Program,
    ProgramExtension,
    ProgramStatus,
    ProgramVersion,
    ProviderListing,
    ProviderStatusChange,
    ServiceType,
)

YUAN_HELP = _('Yuan as a decimal string with at most two decimals, e.g. "40000000.00".')

# --- The rules document (schema only: rules.py validates it, with per-field errors under rules.<path>) -------


def _yuan(required: bool = True) -> YuanField:
    # The project's one money field, so the schema shows the same yuan string type and pattern everywhere.
    return YuanField(help_text=YUAN_HELP, allow_null=not required, required=required)


class _ConditionDoc(serializers.Serializer):
    code = serializers.CharField(help_text=_("Condition code: lower-case letters, digits and _."))
    description = serializers.CharField()
    check = serializers.CharField(
        required=False, help_text=_("How the condition is verified: reviewer (default) or settled_in_fiscal_year.")
    )
    once_per_entity = serializers.BooleanField(required=False)


class RateRuleDoc(_ConditionDoc):
    rate = serializers.CharField(help_text=_("Decimal string, 0 < rate <= 1, at most 4 decimals."))
    cap = _yuan(required=False)
    period = serializers.CharField(
        required=False,
        help_text=_("What cap and once_per_entity count over: ever (default) or fiscal_year."),
    )


class FixedAwardDoc(_ConditionDoc):
    amount = _yuan()
    categories = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text=_("Entity categories that may receive the award; empty or absent: any eligible category."),
    )


class ProviderScopeDoc(serializers.Serializer):
    mode = serializers.CharField(help_text=_("in_jurisdiction (default), listed_platforms or designated_platform."))
    platforms = serializers.ListField(child=serializers.IntegerField(), required=False)


class VoucherValidityDoc(serializers.Serializer):
    mode = serializers.CharField(help_text=_("end_of_fiscal_year (default) or months_from_issue."))
    months = serializers.IntegerField(required=False, allow_null=True)


class PayerShareDoc(serializers.Serializer):
    payer = serializers.CharField(help_text=_("program, province, city, district or county."))
    share = serializers.CharField(help_text=_("Decimal string; a split's shares add up to exactly 1."))


class FundingSplitDoc(serializers.Serializer):
    city_district = PayerShareDoc(many=True, required=False)
    province_county = PayerShareDoc(many=True, required=False)
    other = PayerShareDoc(many=True)


class ReviewStageDoc(serializers.Serializer):
    name = serializers.CharField()
    role = serializers.CharField(help_text=_("reviewer, finance or program_admin."))


class ClaimWindowDoc(serializers.Serializer):
    opens = serializers.CharField(help_text=_("First day of the yearly window, MM-DD."))
    closes = serializers.CharField(help_text=_("Last day of the yearly window, MM-DD (it may wrap the new year)."))


class RulesDoc(serializers.Serializer):
    annual_cap = _yuan(required=False)
    eligible_categories = serializers.ListField(child=serializers.CharField())
    provider_scope = ProviderScopeDoc(required=False)
    rate_rules = RateRuleDoc(many=True, required=False)
    fixed_awards = FixedAwardDoc(many=True, required=False)
    combination = serializers.CharField(required=False, help_text=_("highest_only (default) or stack."))
    per_entity_annual_cap = _yuan(required=False)
    voucher_validity = VoucherValidityDoc(required=False)
    unused_amounts = serializers.CharField(required=False, help_text=_("return_to_budget (default) or lapse."))
    funding_split = FundingSplitDoc(required=False)
    review_stages = ReviewStageDoc(many=True, required=False)
    claim_windows = ClaimWindowDoc(
        many=True, required=False, help_text=_("Yearly windows in which claims may be filed; none: any day.")
    )
    claim_grace_days = serializers.IntegerField(
        required=False, help_text=_("Days after a voucher's validity during which a claim may still be filed (90).")
    )
    minimum_claim = _yuan(required=False)
    pro_rating = serializers.CharField(required=False, help_text=_("none (default) or days_in_window."))
    notice_working_days = serializers.IntegerField(
        required=False, help_text=_("Length of the public notice (公示), in working days (5).")
    )
    related_parties = serializers.CharField(required=False, help_text=_("refuse (default) or flag_for_review."))
    fraud_bar_months = serializers.IntegerField(
        required=False,
        allow_null=True,
        help_text=_("How long a clawback for fraud bars the entity (36); null: no bar."),
    )
    required_evidence = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text=_(
            "Evidence kinds a claim must carry: contract, invoice, payment_proof, usage_statement, declaration."
        ),
    )


@extend_schema_field(RulesDoc)
class RulesField(serializers.JSONField):
    """The rules document, passed as-is to rules.py (which reports errors field by field)."""


# OpenAPI names an enum after its field; two "status" choice sets (programs, listings) in several components
# would collide, so outside ``Program.status`` and ``Provider.status`` the listing statuses are documented strings.
LISTING_STATUS_HELP = _("listed, suspended or delisted.")


# --- Programs -----------------------------------------------------------------------------------------------


class ExtensionSerializer(serializers.ModelSerializer):
    class Meta:
        model = ProgramExtension
        fields = ["id", "decided_on", "previous_end", "new_end", "reason", "legal_reference", "created_at"]
        read_only_fields = fields


class VersionSerializer(serializers.ModelSerializer):
    class Meta:
        model = ProgramVersion
        fields = ["number", "note", "created_at", "published_at"]
        read_only_fields = fields


class VersionDetailSerializer(VersionSerializer):
    rules = serializers.SerializerMethodField(help_text=_("The rules of this version (money in yuan)."))

    class Meta(VersionSerializer.Meta):
        fields = [*VersionSerializer.Meta.fields, "source", "rules"]
        read_only_fields = fields

    @extend_schema_field(RulesDoc)
    def get_rules(self, version: ProgramVersion) -> Any:
        return version.parsed().to_api()


class ProgramStatusField(serializers.ChoiceField):
    """The status as it is today (``Program.status_on``): a program whose window has ended reads ``expired``
    from that moment, not from the next run of the daily expiry job."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=ProgramStatus.choices, source="*", read_only=True, **kwargs)

    def to_representation(self, value: Any) -> str:  # source="*": value is the program
        return cast(Program, value).status_on(timezone.localdate())


class ProgramSerializer(serializers.ModelSerializer):
    jurisdiction: serializers.Field = serializers.SlugRelatedField(slug_field="code", read_only=True)
    status = ProgramStatusField()
    extensions = ExtensionSerializer(many=True, read_only=True)
    current_version = serializers.SerializerMethodField(help_text=_("The newest published version, if any."))
    latest_version = serializers.SerializerMethodField(help_text=_("The newest version, published or not."))
    rules = serializers.SerializerMethodField(help_text=_("The rules of the newest version (money in yuan)."))

    class Meta:
        model = Program
        fields = [
            "id",
            "code",
            "name",
            "jurisdiction",
            "issuing_agency",
            "responsible_agencies",
            "legal_document_number",
            "legal_clause",
            "legal_title",
            "legal_issuer",
            "status",
            "valid_from",
            "valid_until",
            "extensions",
            "current_version",
            "latest_version",
            "rules",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(VersionSerializer(allow_null=True))
    def get_current_version(self, program: Program) -> Any:
        version = selectors.program_current_version(program)
        return VersionSerializer(version).data if version else None

    @extend_schema_field(VersionSerializer(allow_null=True))
    def get_latest_version(self, program: Program) -> Any:
        version = selectors.program_latest_version(program)
        return VersionSerializer(version).data if version else None

    @extend_schema_field(RulesDoc(allow_null=True))
    def get_rules(self, program: Program) -> Any:
        version = selectors.program_latest_version(program)
        return version.parsed().to_api() if version else None


class _ProgramFields(StrictSerializer):
    name = serializers.CharField(max_length=200)
    responsible_agencies = serializers.PrimaryKeyRelatedField(
        many=True, required=False, queryset=Organization.objects.filter(kind=OrganizationKind.AGENCY)
    )
    legal_document_number = serializers.CharField(max_length=100, required=False, allow_blank=True)
    legal_clause = serializers.CharField(max_length=100, required=False, allow_blank=True)
    legal_title = serializers.CharField(max_length=300, required=False, allow_blank=True)
    legal_issuer = serializers.CharField(max_length=200, required=False, allow_blank=True)
    valid_from = serializers.DateField(required=False, allow_null=True)
    valid_until = serializers.DateField(required=False, allow_null=True)
    rules = RulesField()
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, write_only=True)


class ProgramCreateSerializer(_ProgramFields):
    code = serializers.SlugField(max_length=64)
    jurisdiction = serializers.SlugRelatedField(slug_field="code", queryset=Jurisdiction.objects.all())
    issuing_agency = serializers.PrimaryKeyRelatedField(
        queryset=Organization.objects.filter(kind=OrganizationKind.AGENCY)
    )


class ProgramUpdateSerializer(_ProgramFields):
    """Every field optional; ``rules`` replaces the top-level keys it names."""


class SuspendSerializer(StrictSerializer):
    reason = serializers.CharField(max_length=500)


class ExtendSerializer(StrictSerializer):
    new_end = serializers.DateField(allow_null=True, help_text=_("The new end date; null removes the end date."))
    reason = serializers.CharField(max_length=500)
    legal_reference = serializers.CharField(max_length=300, required=False, allow_blank=True)
    decided_on = serializers.DateField(required=False, allow_null=True)


class BudgetSerializer(serializers.Serializer):
    year = serializers.IntegerField()
    cap = serializers.CharField(help_text=YUAN_HELP)
    issued = serializers.CharField(help_text=YUAN_HELP)
    held = serializers.CharField(help_text=YUAN_HELP)
    spent = serializers.CharField(help_text=YUAN_HELP)
    returned = serializers.CharField(help_text=YUAN_HELP)
    lapsed = serializers.CharField(help_text=YUAN_HELP)
    remaining = serializers.CharField(help_text=YUAN_HELP)

    def to_representation(self, instance: Any) -> dict[str, Any]:
        return {"year": instance.year} | {
            name: fen_to_yuan(getattr(instance, name))
            for name in ("cap", "issued", "held", "spent", "returned", "lapsed", "remaining")
        }


# --- Providers ----------------------------------------------------------------------------------------------


class StatusChangeSerializer(serializers.ModelSerializer):
    from_status = serializers.CharField(read_only=True, help_text=_("Empty for the registration."))
    to_status = serializers.CharField(read_only=True, help_text=LISTING_STATUS_HELP)

    class Meta:
        model = ProviderStatusChange
        fields = ["from_status", "to_status", "reason", "changed_at"]
        read_only_fields = fields


class ProviderSerializer(serializers.ModelSerializer):
    jurisdiction: serializers.Field = serializers.SlugRelatedField(slug_field="code", read_only=True)
    organization_name = serializers.CharField(source="organization.name", read_only=True)
    organization_uscc = serializers.CharField(
        source="organization.uscc", read_only=True, help_text=_("The code its invoices are issued under.")
    )
    kind = serializers.CharField(source="organization.kind", read_only=True)
    service_types = serializers.ListField(child=serializers.CharField(), read_only=True)
    status_history = StatusChangeSerializer(many=True, read_only=True, source="status_changes")

    class Meta:
        model = ProviderListing
        fields = [
            "id",
            "organization",
            "organization_name",
            "organization_uscc",
            "kind",
            "jurisdiction",
            "platforms",
            "service_types",
            "valid_from",
            "valid_until",
            "status",
            "status_history",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class _ProviderFields(StrictSerializer):
    jurisdiction = serializers.SlugRelatedField(slug_field="code", queryset=Jurisdiction.objects.all(), required=False)
    platforms = serializers.PrimaryKeyRelatedField(
        many=True, required=False, queryset=Organization.objects.filter(kind=OrganizationKind.PLATFORM)
    )
    service_types = serializers.ListField(child=serializers.ChoiceField(choices=ServiceType.choices), min_length=1)
    valid_from = serializers.DateField()
    valid_until = serializers.DateField(required=False, allow_null=True)


class ProviderCreateSerializer(_ProviderFields):
    organization = serializers.PrimaryKeyRelatedField(
        queryset=Organization.objects.filter(kind__in=[OrganizationKind.PROVIDER, OrganizationKind.PLATFORM])
    )
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True)


class ProviderUpdateSerializer(_ProviderFields):
    """Every field optional."""


class ProviderStatusSerializer(StrictSerializer):
    status = serializers.CharField(max_length=16, help_text=LISTING_STATUS_HELP)
    reason = serializers.CharField(max_length=500)
