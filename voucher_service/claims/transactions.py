"""The claims domain's transaction idioms, each behind one name (so the project-wide ``core`` idioms of issue 11
replace them here, in a few lines):

* ``claim_write``: a service is one durable transaction, retried on deadlock or serialisation failure, and joins
  the caller's transaction when there is one;
* ``lock_in_pk_order``: rows locked ``FOR UPDATE`` in ascending primary-key order (the project's lock order);
* ``enqueue_on_commit(task, *ids)``: a Celery task sent with ids once the transaction commits (robustly: a broker
  outage does not undo the committed write; the beat sweeper re-sends stalled work).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from ledger.concurrency import lock_in_pk_order, retry_on_db_conflict

claim_write = retry_on_db_conflict


def enqueue_on_commit(task: Any, *ids: int) -> None:
    transaction.on_commit(lambda: task.delay(*ids), robust=True)


__all__ = ["claim_write", "enqueue_on_commit", "lock_in_pk_order"]
