"""The admin shows notifications, preferences and digests, and changes none of them."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.test import RequestFactory

from voucher_service.notifications.models import DigestRun, Notification, NotificationPreference

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("model", [Notification, NotificationPreference, DigestRun])
def test_the_admin_is_read_only(model, staff):
    # given
    request = RequestFactory().get("/admin/")
    request.user = staff
    model_admin = admin.site._registry[model]
    # when / then
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)


def test_the_admin_pages_render(admin_client):
    # given / when
    pages = [admin_client.get(f"/admin/notifications/{name}/") for name in ("notification", "notificationpreference")]
    # then
    assert [page.status_code for page in pages] == [200, 200]
