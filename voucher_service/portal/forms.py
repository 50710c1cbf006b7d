"""The portal's forms. They check shapes (a yuan amount, a date); the services check everything else and their
refusals are shown per field (``errors.show_on_form``)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from ledger.money import YUAN_PATTERN, yuan_text_to_fen
from voucher_service.claims.drafts import MAX_LINES
from voucher_service.claims.evidence import MAX_BYTES as EVIDENCE_MAX_BYTES
from voucher_service.claims.models import Decision
from voucher_service.portal.idempotency import FIELD, new_key
from voucher_service.programs.models import ServiceType
from voucher_service.programs.rules import EvidenceKind


class YuanField(forms.CharField):
    """A yuan amount with at most two decimals, cleaned to integer fen (floats never touch money)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 20)
        super().__init__(**kwargs)
        self.widget.attrs.update({"inputmode": "decimal", "pattern": YUAN_PATTERN.strip("^$"), "autocomplete": "off"})

    def clean(self, value: Any) -> Any:
        text = super().clean(value)
        if text in self.empty_values:
            return None
        try:
            return yuan_text_to_fen(str(text).strip())
        except (ValueError, ArithmeticError) as exc:
            raise forms.ValidationError(
                _("Enter an amount in yuan with at most two decimals, e.g. 1200.50."), code="invalid"
            ) from exc


class DateInput(forms.DateInput):
    input_type = "date"


class IdempotentForm(forms.Form):
    """A form that moves money: a fresh key per render, kept when the form comes back with errors."""

    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=255)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault(FIELD, new_key())


class ApplyForm(IdempotentForm):
    entity = forms.TypedChoiceField(label=_("Applying organisation"), coerce=int)
    amount = YuanField(label=_("Amount (yuan)"))
    purpose = forms.CharField(label=_("Purpose"), max_length=500, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args: Any, entities: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["entity"].choices = entities  # type: ignore[attr-defined]


class PurchaseForm(forms.Form):
    """Step 1: what was bought, from whom, under which contract."""

    entity = forms.TypedChoiceField(label=_("Claiming organisation"), coerce=int)
    provider = forms.TypedChoiceField(label=_("Compute provider"), coerce=int)
    contract_number = forms.CharField(label=_("Contract number"), max_length=100)
    contract_signed_on = forms.DateField(label=_("Signed on"), widget=DateInput)
    contract_amount = YuanField(label=_("Contract amount (yuan)"))
    contract_starts_on = forms.DateField(label=_("Service period from"), widget=DateInput)
    contract_ends_on = forms.DateField(label=_("Service period until"), widget=DateInput)
    conditions = forms.MultipleChoiceField(
        label=_("Which of the program's rules you claim under"), widget=forms.CheckboxSelectMultiple, required=False
    )

    def __init__(self, *args: Any, entities: list, providers: list, conditions: list, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["entity"].choices = entities  # type: ignore[attr-defined]
        self.fields["provider"].choices = providers  # type: ignore[attr-defined]
        self.fields["conditions"].choices = conditions  # type: ignore[attr-defined]


class InvoiceForm(forms.Form):
    """Step 2, one row per invoice: the provider's invoice (fields named as the claims service names them)."""

    issuer_uscc = forms.CharField(label=_("Issuer's unified social credit code"), max_length=18)
    code = forms.CharField(label=_("Invoice code (paper invoices only)"), max_length=12, required=False)
    number = forms.CharField(label=_("Invoice number"), max_length=20)
    issued_on = forms.DateField(label=_("Issued on"), widget=DateInput)
    amount = YuanField(label=_("Invoice amount (yuan)"))


class PaymentForm(forms.Form):
    """Step 3, one row per payment to the provider."""

    bank_reference = forms.CharField(label=_("Bank reference"), max_length=64)
    paid_on = forms.DateField(label=_("Paid on"), widget=DateInput)
    amount = YuanField(label=_("Amount paid (yuan)"))


# A claim names 1 to MAX_LINES invoices and payments (the claims service's own limit).
InvoiceFormSet = forms.formset_factory(
    InvoiceForm, extra=0, min_num=1, validate_min=True, max_num=MAX_LINES, validate_max=True
)
PaymentFormSet = forms.formset_factory(
    PaymentForm, extra=0, min_num=1, validate_min=True, max_num=MAX_LINES, validate_max=True
)


class DeliveryForm(forms.Form):
    """Step 4: what the provider delivered."""

    delivery_starts_on = forms.DateField(label=_("Delivered from"), widget=DateInput)
    delivery_ends_on = forms.DateField(label=_("Delivered until"), widget=DateInput)
    delivery_service_type = forms.ChoiceField(label=_("Service"), choices=ServiceType.choices)
    delivery_quantity = forms.DecimalField(label=_("Quantity"), max_digits=20, decimal_places=3, min_value=0)
    delivery_unit = forms.CharField(label=_("Unit"), max_length=32, initial="card_hours")


# The steps of a claim, in order: (slug, title, form or formset class). A formset step's prefix is the claims
# service's name of its list ("invoices", "payments"), so a refusal of ``invoices.1.amount`` lands on its row.
CLAIM_STEPS: list[tuple[str, Any, Any]] = [
    ("purchase", _("Purchase"), PurchaseForm),
    ("invoice", _("Invoices"), InvoiceFormSet),
    ("payment", _("Payments"), PaymentFormSet),
    ("delivery", _("Delivery"), DeliveryForm),
]
ROW_PREFIXES = {"invoice": "invoices", "payment": "payments"}
CONTRACT_KEYS = ("number", "signed_on", "amount", "starts_on", "ends_on")
DELIVERY_KEYS = ("starts_on", "ends_on", "service_type", "quantity", "unit")

# Where a service's field path (without a row number) lands: (step, form field).
CLAIM_PATHS: dict[str, tuple[str, str | None]] = {
    "provider": ("purchase", "provider"),
    "entity": ("purchase", "entity"),
    "conditions": ("purchase", "conditions"),
    **{f"contract.{k}": ("purchase", f"contract_{k}") for k in CONTRACT_KEYS},
    **{f"delivery.{k}": ("delivery", f"delivery_{k}") for k in DELIVERY_KEYS},
    "invoices": ("invoice", None),
    "payments": ("payment", None),
}


class CreateClaimForm(IdempotentForm):
    """The last step of a new claim: create the draft from the steps before (kept in the session)."""


EVIDENCE_KINDS = {
    EvidenceKind.CONTRACT: _("Contract"),
    EvidenceKind.INVOICE: _("Invoice"),
    EvidenceKind.PAYMENT_PROOF: _("Proof of payment"),
    EvidenceKind.USAGE_STATEMENT: _("Usage statement of the compute delivered"),
    EvidenceKind.DECLARATION: _("Signed declaration"),
    EvidenceKind.OTHER: _("Other"),
}


class EvidenceForm(forms.Form):
    kind = forms.ChoiceField(label=_("What it is"), choices=[(k.value, EVIDENCE_KINDS[k]) for k in EvidenceKind])
    file = forms.FileField(
        label=_("File (PDF, OFD, JPEG or PNG, at most 20 MB)"),
        widget=forms.ClearableFileInput(
            attrs={
                "accept": ".pdf,.ofd,.jpg,.jpeg,.png",
                "data-max-bytes": str(EVIDENCE_MAX_BYTES),
                "data-too-large": _("An evidence file is at most 20 MB."),
            }
        ),
    )


class SubmitClaimForm(IdempotentForm):
    declaration = forms.BooleanField(
        label=_("I declare that everything in this claim is true and complete (真实性承诺)."), required=True
    )


class WithdrawForm(IdempotentForm):
    reason = forms.CharField(label=_("Why (optional)"), max_length=1000, required=False)


class DecideForm(IdempotentForm):
    decision = forms.ChoiceField(label=_("Decision"), choices=Decision.choices, widget=forms.RadioSelect)
    amount = YuanField(label=_("Approve a lower amount (yuan, optional)"), required=False)
    reason = forms.CharField(
        label=_("Reason (required to reject, return or lower)"),
        max_length=1000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class ObjectionForm(forms.Form):
    reason = forms.CharField(label=_("Your objection"), max_length=2000, widget=forms.Textarea(attrs={"rows": 4}))
    contact = forms.CharField(label=_("How to reach you"), max_length=200)


class VerifyForm(forms.Form):
    token = forms.CharField(label=_("Voucher token"), max_length=200)
