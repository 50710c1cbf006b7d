"""Celery beat entries of the ledger; ``voucher_service/celery.py`` merges them into the schedule."""

from __future__ import annotations

from typing import Any

BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    # Expired holds keep money reserved until released; a minute of lag is acceptable.
    "ledger-expire-holds": {"task": "ledger.expire_holds", "schedule": 60.0},
    # Seals are normally requested on commit; this catches a lost message, so the seal lag stays seconds.
    "ledger-seal": {"task": "ledger.seal", "schedule": 10.0},
    # Seals everything first, then a full recomputation; hourly keeps the cost bounded while catching
    # tampering the same day.
    "ledger-verify": {"task": "ledger.verify", "schedule": 3600.0},
}
