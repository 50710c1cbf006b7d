"""What a refused write must leave unchanged: snapshots of rows to compare before and after."""

from __future__ import annotations

from typing import Any

from accounts.models import AuditEvent
from ledger.models import Account, Hold, JournalEntry, Posting
from voucher_service.programs.models import Program, ProgramVersion


def ledger_snapshot() -> dict[str, Any]:
    """Every ledger row that a refused operation must leave untouched."""
    return {
        "entries": list(JournalEntry.objects.values_list("pk", flat=True)),
        "postings": list(Posting.objects.values_list("pk", flat=True)),
        "holds": list(Hold.objects.values()),
        "accounts": list(
            Account.objects.values(
                "pk", "posted_debits", "posted_credits", "pending_debits", "pending_credits", "version"
            )
        ),
    }


def row_counts() -> dict[str, int]:
    """The program rows and audit events a refused program write must leave unchanged."""
    return {
        "programs": Program.objects.count(),
        "versions": ProgramVersion.objects.count(),
        "audit": AuditEvent.objects.count(),
    }
