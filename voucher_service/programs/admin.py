"""Read-only admin views: every change goes through the services (audit trail, versioning), never the admin."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from voucher_service.programs.models import FiscalYearBudget, Program, ProgramVersion, ProviderListing


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Program)
class ProgramAdmin(ReadOnlyAdmin):
    list_display = ["code", "name", "jurisdiction", "status", "valid_from", "valid_until"]
    list_filter = ["status"]
    search_fields = ["code", "name", "legal_document_number"]


@admin.register(ProgramVersion)
class ProgramVersionAdmin(ReadOnlyAdmin):
    list_display = ["program", "number", "published_at", "created_at"]


@admin.register(ProviderListing)
class ProviderListingAdmin(ReadOnlyAdmin):
    list_display = ["organization", "jurisdiction", "status", "valid_from", "valid_until"]
    list_filter = ["status"]


@admin.register(FiscalYearBudget)
class FiscalYearBudgetAdmin(ReadOnlyAdmin):
    list_display = ["program", "year", "cap", "opened_at"]
