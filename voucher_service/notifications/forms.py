"""The preference form of the notification pages."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from voucher_service.notifications.models import EmailMode


class PreferenceForm(forms.Form):
    email_mode = forms.ChoiceField(label=_("Email"), choices=EmailMode.choices, widget=forms.RadioSelect)
    language = forms.ChoiceField(label=_("Language of emails"), choices=settings.LANGUAGES)
