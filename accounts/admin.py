"""Django admin for staff. Nothing here writes around the services: every change the admin can make goes through
them (and so through their checks and the audit trail), and what they do not offer is read-only.

* Organisations: read-only. They are registered and edited through the API, whose services check jurisdictions,
  keep who certified a settling-in date, and audit every change.
* Memberships: granted and revoked through ``accounts.services`` (the role must exist in that kind of
  organisation; nobody grants a role to themselves); never edited in place.
* Users: saved through ``accounts.services`` (audited; a new password must pass the validators; a changed
  password revokes the user's API tokens).
* The audit trail, tokens and jurisdictions: read-only.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse

from accounts.audit import audit_record, snapshot
from accounts.errors import AccountsError
from accounts.models import ApiToken, AuditEvent, Jurisdiction, Membership, Organization, User
from accounts.services import USER_AUDIT_FIELDS, membership_grant, membership_revoke, user_save


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class MembershipInline(admin.TabularInline):
    """Who holds which role in the organisation; changed on the Membership pages (through the services)."""

    model = Membership
    extra = 0
    fields = ("user", "role", "created_at")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        before = snapshot(User.objects.get(pk=obj.pk), USER_AUDIT_FIELDS) if change else None
        user_save(actor=request.user, user=obj, before=before)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # users are deactivated (active: off), never deleted: the audit trail refers to them

    def user_change_password(self, request: HttpRequest, id: str, form_url: str = "") -> HttpResponse:
        # The password form saves the user and then logs the change: one transaction, with an audit event.
        with transaction.atomic():
            response = super().user_change_password(request, id, form_url)
            if request.method == "POST" and response.status_code == 302:
                user = User.objects.get(pk=id)
                audit_record(actor=request.user, action="user.update", target=user, detail={"password_changed": True})
        return response


@admin.register(Jurisdiction)
class JurisdictionAdmin(ReadOnlyAdmin):
    list_display = ["code", "name", "level", "admin_type", "parent"]
    search_fields = ["code", "name"]


@admin.register(Organization)
class OrganizationAdmin(ReadOnlyAdmin):
    list_display = ["name", "kind", "category", "uscc", "jurisdiction", "settled_on", "is_active"]
    list_filter = ["kind", "category", "is_active"]
    search_fields = ["name", "uscc"]
    readonly_fields = ["settled_on_certified_by", "personal_id_hint", "created_at", "updated_at"]
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    """Grant a role (add) or take it away (delete); both through the services, audited."""

    list_display = ["user", "organization", "role", "created_at"]
    list_filter = ["role", "organization__kind"]
    search_fields = ["user__username", "organization__name"]
    autocomplete_fields = ["user"]
    raw_id_fields = ["organization"]

    def has_change_permission(self, request, obj=None) -> bool:
        return obj is None  # the list and the add form; an existing membership is revoked, never edited

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        granted = membership_grant(actor=request.user, user=obj.user, organization=obj.organization, role=obj.role)
        obj.pk = granted.pk

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        membership_revoke(actor=request.user, membership=obj)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for membership in queryset.select_related("organization"):
            membership_revoke(actor=request.user, membership=membership)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except (AccountsError, ValidationError) as exc:
            # The services refused (a role that kind of organisation has not, a grant to oneself…): nothing was
            # saved (the admin's transaction rolled back); say why on the list page.
            self.message_user(request, "; ".join(_messages(exc)), level=messages.ERROR)
            from django.http import HttpResponseRedirect

            return HttpResponseRedirect(request.path)


def _messages(exc: Exception) -> list[str]:
    if isinstance(exc, ValidationError):
        return [str(message) for message in exc.messages]
    return [str(exc)]


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdmin):
    list_display = ["prefix", "user", "name", "created_at", "expires_at", "revoked_at", "last_used_at"]
    exclude = ["digest"]


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["occurred_at", "actor", "action", "target_type", "target_id", "organization"]
    list_filter = ["action", "target_type"]
    search_fields = ["target_id"]
