"""Serializers for the claims API: money is a yuan decimal string both ways (``YuanField``); write serializers take
exactly what the schema says (``StrictSerializer``), and the services check what a claim says against itself."""

from __future__ import annotations

from typing import Any

from django.utils import translation
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.api.strict import StrictSerializer
from accounts.models import EntityCategory, Organization
from ledger.money import fen_to_yuan
from voucher_service.api.fields import YuanField
from voucher_service.claims.models import (
    Claim,
    ClaimDecision,
    ClaimEvidence,
    ClawbackReason,
    Decision,
    Objection,
    ObjectionStatus,
    PlatformOrder,
)
from voucher_service.programs.models import Program, ServiceType
from voucher_service.programs.rules import EvidenceKind
from voucher_service.vouchers.models import Voucher

# --- Writing a claim ------------------------------------------------------------------------------------------


class ContractInput(StrictSerializer):
    number = serializers.CharField(max_length=100)
    signed_on = serializers.DateField()
    amount = YuanField()
    starts_on = serializers.DateField(help_text=_("First day of the contract's service period."))
    ends_on = serializers.DateField(help_text=_("Last day of the contract's service period."))


class InvoiceInput(StrictSerializer):
    issuer_uscc = serializers.CharField(max_length=18, help_text=_("The issuer's unified social credit code."))
    code = serializers.CharField(
        max_length=12, required=False, allow_blank=True, default="", help_text=_("发票代码 (10 or 12 digits), if any.")
    )
    number = serializers.CharField(
        max_length=20, help_text=_("The 20-digit 全电发票 number, or the 8-digit 号码 with a code.")
    )
    issued_on = serializers.DateField()
    amount = YuanField()


class PaymentInput(StrictSerializer):
    bank_reference = serializers.CharField(max_length=64)
    paid_on = serializers.DateField()
    amount = YuanField()


class DeliveryInput(StrictSerializer):
    starts_on = serializers.DateField()
    ends_on = serializers.DateField()
    service_type = serializers.ChoiceField(choices=ServiceType.choices)
    quantity = serializers.DecimalField(
        max_digits=20, decimal_places=3, min_value=0, help_text=_("How much was delivered, e.g. 1200 (card-hours).")
    )
    unit = serializers.CharField(max_length=32, help_text=_("card_hours, core_hours, …"))

    def validate_quantity(self, value: Any) -> Any:
        if value <= 0:
            raise serializers.ValidationError(_("The quantity must be more than zero."), code="min_value")
        return value


def _conditions_field() -> serializers.ListField:
    return serializers.ListField(
        child=serializers.CharField(max_length=64),
        required=False,
        max_length=20,
        help_text=_("Rate-rule condition codes the claim asks for (major_project_lead, local_platform, …)."),
    )


class ClaimWriteFields(StrictSerializer):
    provider = serializers.PrimaryKeyRelatedField(
        queryset=Organization.objects.none(), pk_field=serializers.IntegerField()
    )
    platform_order_number = serializers.CharField(max_length=64, required=False, allow_blank=True)
    contract = ContractInput()
    invoices = InvoiceInput(many=True)
    payments = PaymentInput(many=True)
    delivery = DeliveryInput()
    conditions = _conditions_field()
    declaration_accepted = serializers.BooleanField(
        required=False, help_text=_("The truthfulness declaration (真实性承诺书), required to submit.")
    )
    vouchers = serializers.PrimaryKeyRelatedField(
        many=True,
        required=False,
        queryset=Voucher.objects.none(),
        help_text=_("Vouchers to redeem, in order; default: the entity's active vouchers, soonest-expiring first."),
    )


class ClaimCreateSerializer(ClaimWriteFields):
    """A new draft claim (兑付申请) of one of your entities against one program."""

    program = serializers.PrimaryKeyRelatedField(queryset=Program.objects.none(), pk_field=serializers.IntegerField())
    entity = serializers.PrimaryKeyRelatedField(
        queryset=Organization.objects.none(), pk_field=serializers.IntegerField()
    )


class ClaimUpdateSerializer(ClaimWriteFields):
    """Every field optional; a list given replaces the claim's list; contract and delivery are merged."""

    contract = ContractInput(partial=True, required=False)
    delivery = DeliveryInput(partial=True, required=False)

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        for field in fields.values():
            field.required = False
        return fields


class ConditionReviewInput(StrictSerializer):
    code = serializers.CharField(max_length=64)
    confirmed = serializers.BooleanField()
    reason = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")


class DecideSerializer(StrictSerializer):
    decision = serializers.ChoiceField(choices=Decision.choices)
    amount = YuanField(required=False, help_text=_("Approve a lower amount (with a reason)."))
    reason = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")
    conditions = ConditionReviewInput(
        many=True, required=False, help_text=_("First stage: confirm or deny each claimed reviewer-checked condition.")
    )


class ReasonInput(StrictSerializer):
    reason = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")


class PayoutInput(StrictSerializer):
    paid_on = serializers.DateField()
    bank_reference = serializers.CharField(max_length=64)


class ClawbackInput(StrictSerializer):
    reason_code = serializers.ChoiceField(choices=ClawbackReason.choices)
    amount = YuanField()
    note = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")


class RecoveryInput(StrictSerializer):
    clawback = serializers.IntegerField()
    amount = YuanField()
    received_on = serializers.DateField()
    reference = serializers.CharField(max_length=64)


class EvidenceUploadSerializer(StrictSerializer):
    kind = serializers.ChoiceField(choices=[(k.value, k.value) for k in EvidenceKind])
    file = serializers.FileField(help_text=_("PDF, OFD, JPEG or PNG, at most 20 MB, named for what it is."))


class ObjectionInput(StrictSerializer):
    reason = serializers.CharField(max_length=2000)
    contact = serializers.CharField(max_length=200, help_text=_("How the agency can reach you."))


class ResolveInput(StrictSerializer):
    outcome = serializers.ChoiceField(
        choices=[(ObjectionStatus.UPHELD, "upheld"), (ObjectionStatus.DISMISSED, "dismissed")]
    )
    reason = serializers.CharField(max_length=1000)
    amount = YuanField(required=False, help_text=_("Upheld: lower the claim's amount to this instead of rejecting."))


class PlatformOrderInput(StrictSerializer):
    platform = serializers.PrimaryKeyRelatedField(
        queryset=Organization.objects.none(), pk_field=serializers.IntegerField()
    )
    order_number = serializers.CharField(max_length=64)
    buyer_uscc = serializers.CharField(max_length=18)
    provider = serializers.PrimaryKeyRelatedField(
        queryset=Organization.objects.none(), pk_field=serializers.IntegerField()
    )
    amount = YuanField()
    service_starts_on = serializers.DateField()
    service_ends_on = serializers.DateField()


# --- Reading ------------------------------------------------------------------------------------------------


def _language() -> str:
    return "en" if (translation.get_language() or "").startswith("en") else "zh-hans"


class CheckSerializer(serializers.Serializer):
    check = serializers.CharField()
    ok = serializers.BooleanField()
    message = serializers.CharField()


class RuleTermSerializer(serializers.Serializer):
    code = serializers.CharField()
    rate = serializers.CharField()
    award = serializers.CharField(help_text=_("rate × eligible cost, in yuan"))
    cap_left = serializers.CharField(allow_null=True)
    amount = serializers.CharField(help_text=_("What the rule gives, within its cap"))
    note = serializers.CharField()


class BreakdownSerializer(serializers.Serializer):
    eligible_cost = serializers.CharField()
    rules = RuleTermSerializer(many=True)
    terms = serializers.DictField(child=serializers.CharField(allow_null=True))
    subsidy = serializers.CharField()
    bound_by = serializers.CharField(help_text=_("rate, voucher_balance, entity_cap or program_budget"))
    version = serializers.IntegerField(help_text=_("The program version whose rules were used"))
    combination = serializers.CharField()
    conditions = serializers.ListField(child=serializers.CharField())


class EvaluationSerializer(serializers.Serializer):
    round = serializers.IntegerField()
    passed = serializers.BooleanField()
    checks = CheckSerializer(many=True)
    breakdown = BreakdownSerializer(allow_null=True)
    created_at = serializers.DateTimeField()


def _yuan_or_none(value: Any) -> str | None:
    return None if value is None else fen_to_yuan(value)


def render_breakdown(breakdown: dict[str, Any]) -> dict[str, Any] | None:
    if not breakdown:
        return None
    return {
        "eligible_cost": fen_to_yuan(breakdown["eligible_cost"]),
        "rules": [
            {**rule, **{k: _yuan_or_none(rule[k]) for k in ("award", "cap_left", "amount")}}
            for rule in breakdown["rules"]
        ],
        "terms": {name: _yuan_or_none(value) for name, value in breakdown["terms"].items()},
        "subsidy": fen_to_yuan(breakdown["subsidy"]),
        "bound_by": breakdown["bound_by"],
        "version": breakdown["version"],
        "combination": breakdown.get("combination", ""),
        "conditions": breakdown.get("conditions", []),
    }


class DecisionSerializer(serializers.ModelSerializer):
    amount = YuanField(read_only=True, allow_null=True)
    decided_by = serializers.CharField(source="decided_by.username", read_only=True)

    class Meta:
        model = ClaimDecision
        fields = [
            "round",
            "stage_index",
            "stage_name",
            "decision",
            "amount",
            "reason",
            "conditions",
            "decided_by",
            "decided_at",
        ]
        read_only_fields = fields


class EvidenceSerializer(serializers.ModelSerializer):
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = ClaimEvidence
        fields = ["id", "kind", "original_name", "content_type", "size", "sha256", "uploaded_at", "download_url"]
        read_only_fields = fields

    def get_download_url(self, evidence: ClaimEvidence) -> str:
        return f"/api/v1/claims/{evidence.claim_id}/evidence/{evidence.pk}/"


class ShareSerializer(serializers.Serializer):
    payer = serializers.CharField(help_text=_("city, district, county, province or program"))
    amount = serializers.CharField()


class PayoutSerializer(serializers.Serializer):
    status = serializers.CharField()
    paid_on = serializers.DateField()
    bank_reference = serializers.CharField()
    amount = serializers.CharField()
    shares = ShareSerializer(many=True, help_text=_("Who paid what: the funding split of the project's jurisdiction"))


class ClawbackSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    reason_code = serializers.CharField()
    amount = YuanField()
    recovered = YuanField()
    note = serializers.CharField()
    shares = serializers.SerializerMethodField()
    barred_until = serializers.DateField(allow_null=True)
    created_at = serializers.DateTimeField()

    @extend_schema_field(ShareSerializer(many=True))
    def get_shares(self, clawback: Any) -> list[dict[str, str]]:
        return [{"payer": payer, "amount": fen_to_yuan(part)} for payer, part in clawback.shares]


class ClaimSerializer(serializers.ModelSerializer):
    entity_name = serializers.CharField(source="entity.name", read_only=True)
    provider_name = serializers.CharField(source="provider.name", read_only=True)
    contract = serializers.SerializerMethodField()
    delivery = serializers.SerializerMethodField()
    invoices = serializers.SerializerMethodField()
    payments = serializers.SerializerMethodField()
    vouchers = serializers.ListField(source="requested_vouchers", child=serializers.IntegerField(), read_only=True)
    stage = serializers.SerializerMethodField(help_text=_("The review stage now deciding, while in review."))
    subsidy = YuanField(read_only=True, allow_null=True)
    approved_amount = YuanField(read_only=True, allow_null=True)
    paid_amount = YuanField(read_only=True)
    clawed_back_amount = YuanField(read_only=True)
    evaluation = serializers.SerializerMethodField()
    decisions = DecisionSerializer(many=True, read_only=True)
    evidence = EvidenceSerializer(many=True, read_only=True)
    payout = serializers.SerializerMethodField()
    clawbacks = ClawbackSerializer(many=True, read_only=True)

    class Meta:
        model = Claim
        fields = [
            "id", "program", "entity", "entity_name", "provider", "provider_name", "platform_order_number",
            "contract", "invoices", "payments", "delivery", "conditions", "declaration_accepted", "vouchers",
            "status", "round", "stage", "fiscal_year", "subsidy", "approved_amount", "paid_amount",
            "clawed_back_amount", "flags", "notice_starts_on", "notice_ends_on", "outcome_reason", "evaluation",
            "decisions", "evidence", "payout", "clawbacks", "created_at", "submitted_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = fields

    @extend_schema_field(ContractInput)
    def get_contract(self, claim: Claim) -> dict[str, Any]:
        return {
            "number": claim.contract_number,
            "signed_on": claim.contract_signed_on.isoformat(),
            "amount": fen_to_yuan(claim.contract_amount),
            "starts_on": claim.contract_starts_on.isoformat(),
            "ends_on": claim.contract_ends_on.isoformat(),
        }

    @extend_schema_field(DeliveryInput)
    def get_delivery(self, claim: Claim) -> dict[str, Any]:
        return {
            "starts_on": claim.delivery_starts_on.isoformat(),
            "ends_on": claim.delivery_ends_on.isoformat(),
            "service_type": claim.service_type,
            "quantity": f"{claim.quantity:.3f}",
            "unit": claim.unit,
        }

    @extend_schema_field(InvoiceInput(many=True))
    def get_invoices(self, claim: Claim) -> list[dict[str, Any]]:
        return [
            {
                "issuer_uscc": i.issuer_uscc,
                "code": i.code,
                "number": i.number,
                "issued_on": i.issued_on.isoformat(),
                "amount": fen_to_yuan(i.amount),
            }
            for i in claim.invoices.all()
        ]

    @extend_schema_field(PaymentInput(many=True))
    def get_payments(self, claim: Claim) -> list[dict[str, Any]]:
        return [
            {"bank_reference": p.bank_reference, "paid_on": p.paid_on.isoformat(), "amount": fen_to_yuan(p.amount)}
            for p in claim.payments.all()
        ]

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_stage(self, claim: Claim) -> str | None:
        if claim.status != "in_review" or claim.program_version is None:
            return None
        stages = claim.program_version.parsed().review_stages
        return stages[claim.stage_index].name if claim.stage_index < len(stages) else None

    @extend_schema_field(PayoutSerializer(allow_null=True))
    def get_payout(self, claim: Claim) -> dict[str, Any] | None:
        payout = getattr(claim, "payout", None)
        if payout is None:
            return None
        return {
            "status": payout.status,
            "paid_on": payout.paid_on.isoformat(),
            "bank_reference": payout.bank_reference,
            "amount": fen_to_yuan(payout.amount),
            "shares": [{"payer": payer, "amount": fen_to_yuan(part)} for payer, part in payout.shares],
        }

    @extend_schema_field(EvaluationSerializer(allow_null=True))
    def get_evaluation(self, claim: Claim) -> dict[str, Any] | None:
        evaluation = claim.evaluations.order_by("-pk").first()
        if evaluation is None:
            return None
        language = _language()
        return {
            "round": evaluation.round,
            "passed": evaluation.passed,
            "checks": [
                {"check": c["check"], "ok": c["ok"], "message": c["message"].get(language, "")}
                for c in evaluation.checks
            ],
            "breakdown": render_breakdown(evaluation.breakdown),
            "created_at": serializers.DateTimeField().to_representation(evaluation.created_at),
        }


class AcceptedClaimSerializer(serializers.Serializer):
    """The 202 answer: the claim as it is now, and where to watch it."""

    claim = ClaimSerializer()
    status_url = serializers.CharField()


class HistorySerializer(serializers.Serializer):
    occurred_at = serializers.DateTimeField()
    actor = serializers.CharField(allow_null=True, help_text=_("Username; null for the system or the public."))
    action = serializers.CharField()
    before = serializers.JSONField(allow_null=True)
    after = serializers.JSONField(allow_null=True)
    detail = serializers.JSONField()


class PublicNoticeSerializer(serializers.ModelSerializer):
    """What the public sees of a claim under notice: a maker's name is masked to its first character."""

    entity_name = serializers.SerializerMethodField()
    program_name = serializers.CharField(source="program.name", read_only=True)
    subsidy = YuanField(source="approved_amount", read_only=True)

    class Meta:
        model = Claim
        fields = ["id", "entity_name", "program", "program_name", "subsidy", "notice_starts_on", "notice_ends_on"]
        read_only_fields = fields

    def get_entity_name(self, claim: Claim) -> str:
        name = claim.entity.name
        if claim.entity.category == EntityCategory.MAKER:
            return name[:1] + "*" * max(len(name) - 1, 2)
        return name


class ObjectionFiledSerializer(serializers.ModelSerializer):
    class Meta:
        model = Objection
        fields = ["id", "status", "filed_at"]
        read_only_fields = fields


class ObjectionSerializer(serializers.ModelSerializer):
    lowered_to = YuanField(read_only=True, allow_null=True)

    class Meta:
        model = Objection
        fields = ["id", "claim", "reason", "contact", "status", "filed_at", "resolved_at", "resolution", "lowered_to"]
        read_only_fields = fields


class PlatformOrderSerializer(serializers.ModelSerializer):
    amount = YuanField(read_only=True)

    class Meta:
        model = PlatformOrder
        fields = [
            "id", "platform", "order_number", "buyer_uscc", "provider", "amount", "service_starts_on",
            "service_ends_on", "recorded_at",
        ]  # fmt: skip
        read_only_fields = fields
