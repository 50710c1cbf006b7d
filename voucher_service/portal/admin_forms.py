"""The program administrator's forms. They check shapes; the services check everything else, and their refusals
are shown per field (``errors.show_on_form``). Forms that move money are ``IdempotentForm``s."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from voucher_service.portal.forms import DateInput, IdempotentForm
from voucher_service.programs.models import ListingStatus, ServiceType
from voucher_service.vouchers.bulk_csv import MAX_BYTES
from voucher_service.vouchers.models import BulkMode


class BulkUploadForm(IdempotentForm):
    file = forms.FileField(label=_("CSV file (columns uscc, amount in yuan, optional memo; UTF-8)"))
    mode = forms.ChoiceField(label=_("If some rows are not valid"), choices=BulkMode.choices, widget=forms.RadioSelect)
    allow_duplicate_file = forms.BooleanField(
        label=_("Issue this file again although it was uploaded before"), required=False
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.initial.setdefault("mode", BulkMode.ALL_OR_NOTHING)

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_BYTES:
            raise forms.ValidationError(_("The file is larger than 10 MB."), code="too_large")
        return upload


class RevokeForm(IdempotentForm):
    reason = forms.CharField(
        label=_("Why the voucher is revoked"), max_length=1000, widget=forms.Textarea(attrs={"rows": 3})
    )


class AwardForm(IdempotentForm):
    entity = forms.TypedChoiceField(label=_("Entity"), coerce=int)
    award_code = forms.ChoiceField(label=_("Award"))
    memo = forms.CharField(label=_("Memo (optional)"), max_length=500, required=False)

    def __init__(self, *args: Any, entities: list[tuple[int, str]], awards: list[tuple[str, str]], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["entity"].choices = entities  # type: ignore[attr-defined]
        self.fields["award_code"].choices = awards  # type: ignore[attr-defined]


class ProviderRegisterForm(forms.Form):
    organization = forms.TypedChoiceField(label=_("Provider or platform"), coerce=int)
    service_types = forms.MultipleChoiceField(
        label=_("Services"), choices=ServiceType.choices, widget=forms.CheckboxSelectMultiple
    )
    platforms = forms.TypedMultipleChoiceField(
        label=_("Sells through platforms"), coerce=int, required=False, widget=forms.CheckboxSelectMultiple
    )
    valid_from = forms.DateField(label=_("Listed from"), widget=DateInput)
    valid_until = forms.DateField(label=_("Listed until (optional)"), widget=DateInput, required=False)
    reason = forms.CharField(label=_("Note (optional)"), max_length=500, required=False)

    def __init__(self, *args: Any, organizations: list, platforms: list, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["organization"].choices = organizations  # type: ignore[attr-defined]
        self.fields["platforms"].choices = platforms  # type: ignore[attr-defined]


class ProviderStatusForm(forms.Form):
    status = forms.ChoiceField(label=_("New status"), choices=ListingStatus.choices)
    reason = forms.CharField(label=_("Why"), max_length=500)


class GrantForm(forms.Form):
    audit_firm = forms.TypedChoiceField(label=_("Audit firm"), coerce=int)
    username = forms.CharField(label=_("The auditor's username in that firm"), max_length=150)
    programs = forms.TypedMultipleChoiceField(
        label=_("Programs they may read"), coerce=int, widget=forms.CheckboxSelectMultiple
    )
    until = forms.DateField(label=_("Until (inclusive)"), widget=DateInput)
    note = forms.CharField(label=_("Note (optional)"), max_length=500, required=False)

    def __init__(self, *args: Any, firms: list, programs: list, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["audit_firm"].choices = firms  # type: ignore[attr-defined]
        self.fields["programs"].choices = programs  # type: ignore[attr-defined]
