"""Read-only admin views: notifications are derived, and a person's preference is theirs to change (portal)."""

from __future__ import annotations

from django.contrib import admin

from voucher_service.notifications.models import DigestRun, Notification, NotificationPreference
from voucher_service.programs.admin import ReadOnlyAdmin


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ["recipient", "kind", "key", "audience", "created_at", "read_at", "email_status"]
    list_filter = ["kind", "email_status", "audience"]
    search_fields = ["recipient__username", "key"]


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(ReadOnlyAdmin):
    list_display = ["user", "email_mode", "language", "updated_at"]


@admin.register(DigestRun)
class DigestRunAdmin(ReadOnlyAdmin):
    list_display = ["user", "day", "notifications", "sent_at"]
