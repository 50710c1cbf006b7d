"""The ledger admin shows everything and changes nothing."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.test import RequestFactory

from ledger.models import Account, Hold, JournalEntry, Posting, VerificationRun


@pytest.mark.django_db
@pytest.mark.parametrize("model", [Account, JournalEntry, Posting, Hold, VerificationRun])
def test_admin_is_read_only(model):
    # given
    superuser = get_user_model().objects.create_superuser("root", "root@example.com", "x")
    request = RequestFactory().get("/admin/")
    request.user = superuser
    model_admin = admin.site._registry[model]
    # then
    assert model_admin.has_view_permission(request)
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)


@pytest.mark.django_db
def test_admin_pages_render(admin_client, make_account, settings):
    from ledger import services

    # Production settings use a manifest of collected static files; the test renders without collecting.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }

    a, b = make_account(), make_account()
    entry = services.entry_post(actor=None, idempotency_key="k", lines=[(a, "debit", 1), (b, "credit", 1)])
    for url in (
        "/admin/ledger/account/",
        "/admin/ledger/journalentry/",
        f"/admin/ledger/journalentry/{entry.pk}/change/",
        "/admin/ledger/posting/",
        "/admin/ledger/hold/",
        "/admin/ledger/verificationrun/",
    ):
        assert admin_client.get(url, secure=True).status_code == 200, url
