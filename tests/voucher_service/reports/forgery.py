"""Writing the journal past the service and its limits, as someone with the database could: rows inserted
directly (no balance row moves, no limit is checked, the deferred balance trigger never fires in a test that rolls
back). The cap-compliance proof must see them in the journal."""

from __future__ import annotations

from django.utils import timezone

from ledger.models import Account, JournalEntry, Posting


def forge_entry(lines: list[tuple[Account, str, int]], key: str) -> JournalEntry:
    now = timezone.now()
    entry = JournalEntry.objects.create(
        idempotency_key=key, request_fingerprint="0" * 64, effective_at=now, recorded_at=now, body_digest="0" * 64
    )
    postings = []
    for account, direction, amount in lines:
        last = Posting.objects.filter(account=account).order_by("-account_version").first()
        version = (last.account_version if last else 0) + 1
        balance = (last.balance_after if last else 0) + (amount if direction == "credit" else -amount)
        postings.append(
            Posting(
                entry=entry,
                account=account,
                direction=direction,
                amount=amount,
                account_version=version,
                balance_after=balance,
                recorded_at=now,
            )
        )
    Posting.objects.bulk_create(postings)
    return entry
