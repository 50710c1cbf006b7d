"""The forms of the agency's reviewer and finance pages: objections, payouts, application decisions, and the
second factor of finance users. They check shapes only; the services decide (``errors.show_on_form``)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from voucher_service.portal.forms import DateInput, IdempotentForm, YuanField


class ResolveObjectionForm(IdempotentForm):
    outcome = forms.ChoiceField(
        label=_("Outcome"),
        choices=[
            ("dismissed", _("Dismiss: the objection is unfounded, the notice goes on")),
            ("upheld", _("Uphold: reject the claim, or lower its amount")),
        ],
        widget=forms.RadioSelect,
    )
    amount = YuanField(label=_("Upheld: lower the amount to (yuan, optional; empty rejects the claim)"), required=False)
    reason = forms.CharField(label=_("Reason"), max_length=1000, widget=forms.Textarea(attrs={"rows": 3}))


class PayoutForm(IdempotentForm):
    paid_on = forms.DateField(label=_("Paid on"), widget=DateInput)
    bank_reference = forms.CharField(label=_("Bank reference"), max_length=64)


class ApplicationDecisionForm(IdempotentForm):
    decision = forms.ChoiceField(
        label=_("Decision"),
        choices=[("approve", _("Approve and issue the voucher")), ("reject", _("Reject"))],
        widget=forms.RadioSelect,
    )
    amount = YuanField(label=_("Approve a lower amount (yuan, optional)"), required=False)
    reason = forms.CharField(
        label=_("Reason (required to reject)"),
        max_length=1000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("decision") == "reject" and not (data.get("reason") or "").strip():
            self.add_error("reason", _("Say why the application is rejected."))
        return data


class TotpForm(forms.Form):
    token = forms.CharField(
        label=_("The 6-digit code from your authenticator app"),
        min_length=6,
        max_length=8,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}),
    )
