"""Read-only admin: the ledger is changed only through ``ledger.services``."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from ledger.models import Account, ChainLink, ChainSeal, Hold, JournalEntry, Posting, VerificationRun


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Account)
class AccountAdmin(ReadOnlyAdmin):
    list_display = [
        "code",
        "name",
        "currency",
        "posted_debits",
        "posted_credits",
        "pending_debits",
        "pending_credits",
        "version",
    ]
    search_fields = ["code", "name"]


class PostingInline(admin.TabularInline):
    model = Posting
    extra = 0
    can_delete = False
    fields = ["account", "direction", "amount", "account_version", "balance_after"]
    readonly_fields = ["account", "direction", "amount", "account_version", "balance_after"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(JournalEntry)
class JournalEntryAdmin(ReadOnlyAdmin):
    list_display = ["id", "recorded_at", "effective_at", "memo", "actor", "reverses", "body_digest", "hash"]
    list_select_related = ["chain_link"]
    search_fields = ["idempotency_key", "memo", "body_digest", "chain_link__hash"]
    inlines = [PostingInline]


@admin.register(ChainLink)
class ChainLinkAdmin(ReadOnlyAdmin):
    list_display = ["position", "entry", "prev_hash", "hash", "sealed_at"]
    search_fields = ["hash"]


@admin.register(ChainSeal)
class ChainSealAdmin(ReadOnlyAdmin):
    list_display = ["height", "head_hash", "key_id", "sealed_at"]


@admin.register(Posting)
class PostingAdmin(ReadOnlyAdmin):
    list_display = ["id", "entry", "account", "direction", "amount", "account_version", "balance_after"]
    list_select_related = ["account"]


@admin.register(Hold)
class HoldAdmin(ReadOnlyAdmin):
    list_display = ["id", "debit_account", "credit_account", "amount", "status", "expires_at", "resolved_at"]
    list_filter = ["status"]


@admin.register(VerificationRun)
class VerificationRunAdmin(ReadOnlyAdmin):
    list_display = ["started_at", "finished_at", "ok", "entry_count", "head_height", "head_hash"]
