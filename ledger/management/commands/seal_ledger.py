"""``manage.py seal_ledger``: append every committed, unsealed entry to the hash chain and print the head."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from ledger.sealing import seal_pending
from ledger.selectors import chain_head


class Command(BaseCommand):
    help = "Seal every committed journal entry into the hash chain (the periodic ledger.seal task does the same)."

    def handle(self, *args: Any, **options: Any) -> None:
        sealed = seal_pending(full=True)
        head = chain_head()
        self.stdout.write(
            f"Sealed {sealed} entr{'y' if sealed == 1 else 'ies'}; chain head #{head.height} {head.head_hash}"
        )
