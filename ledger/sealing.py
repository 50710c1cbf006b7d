"""The sealer: appends committed journal entries to the hash chain, off the posting path.

Posting an entry writes its body digest but takes no global lock, so entries commit in parallel. Sealing then
gives them a strict order: under the chain-head row lock, the sealer takes up to ``BATCH_SIZE`` entries from
its queue (``UnsealedEntry``, a row written with each entry; ascending id), appends one ``ChainLink`` each
(positions gapless from the head's height + 1, ``hash = SHA-256(prev_hash:position:body_digest)``) and moves
the head, all in one short transaction. Only the sealer writes links, so the head lock is contended only by
concurrent sealers, never by posting.

It runs (the same code on every backend):

* a ``ledger.seal`` task enqueued on commit after a post — at most one enqueue per process per
  ``SEAL_DEBOUNCE_SECONDS``, delayed by the same amount, so every entry committed in that window is covered
  by a task that runs after it, and a burst of posts costs one broker message per second per process;
* the same task from Celery beat (``ledger.schedule``), in case a message is lost;
* at the start of ``verify_ledger``, and from ``manage.py seal_ledger``.

An entry whose transaction commits late (its id is below ids already sealed) is simply sealed at a later
position: the chain order is the order the sealer saw entries committed, not the id order. The queue makes a
seal cost O(batch) however long the journal; ``full=True`` (``verify_ledger``, ``seal_ledger``) also looks for
unsealed entries missing from the queue (e.g. inserted by hand), and the verifier reports any entry left
unsealed past its grace period.
"""

from __future__ import annotations

import logging
import threading
import time

from django.conf import settings
from django.utils import timezone

from core.transactions import enqueue_on_commit, service_write, without_before_commit_hooks
from ledger.hashing import chain_hash
from ledger.models import ChainHead, ChainLink, ChainSeal, JournalEntry, UnsealedEntry
from ledger.signing import current_key, seal_is_valid, verification_keys

logger = logging.getLogger(__name__)

BATCH_SIZE = 1_000
SEAL_DEBOUNCE_SECONDS = 1.0

_last_enqueued = -SEAL_DEBOUNCE_SECONDS
_enqueue_lock = threading.Lock()


def seal_pending(*, full: bool = False, batch_size: int = BATCH_SIZE) -> int:
    """Seal every committed entry not sealed yet, batch by batch; returns how many were sealed.

    ``full`` also anti-joins the whole journal with the chain for entries missing from the queue; each pass
    stops at its first short batch, so it ends even while entries keep arriving.
    """
    sealed = 0
    with without_before_commit_hooks():  # sealing is never part of the caller's unit of work
        for from_queue in (True, False) if full else (True,):
            while True:
                linked, taken = _seal_batch(from_queue=from_queue, batch_size=batch_size)
                sealed += linked
                if taken < batch_size:
                    break
    return sealed


@service_write
def _seal_batch(*, from_queue: bool, batch_size: int) -> tuple[int, int]:
    """Seal one batch: (entries linked, queue rows or entries taken)."""
    head = ChainHead.objects.select_for_update().filter(pk=ChainHead.SINGLETON_ID).first()
    if head is None:  # a flushed test database: the migration's row is gone
        ChainHead.objects.bulk_create([ChainHead(pk=ChainHead.SINGLETON_ID)], ignore_conflicts=True)
        head = ChainHead.objects.select_for_update().get(pk=ChainHead.SINGLETON_ID)
    # Read after the lock is granted: under READ COMMITTED this sees every link a concurrent sealer committed
    # (and every queue row it deleted) while we waited, so no entry is linked twice (the unique entry
    # constraint would refuse it anyway).
    _require_signed_head(head)
    unsealed = JournalEntry.objects.filter(chain_link__isnull=True)
    queued: list[int] = []
    if from_queue:
        queued = list(UnsealedEntry.objects.order_by("entry_id").values_list("entry_id", flat=True)[:batch_size])
        if not queued:
            return 0, 0
        unsealed = unsealed.filter(pk__in=queued)
        UnsealedEntry.objects.filter(entry_id__in=queued).delete()
    rows = list(unsealed.order_by("id").values_list("id", "body_digest")[:batch_size])
    if not rows:
        return 0, len(queued)
    now = timezone.now()
    position, previous = head.height, head.head_hash
    links = []
    for entry_id, body_digest in rows:
        position += 1
        link_hash = chain_hash(previous, position, body_digest)
        links.append(ChainLink(position=position, entry_id=entry_id, prev_hash=previous, hash=link_hash, sealed_at=now))
        previous = link_hash
    ChainLink.objects.bulk_create(links)
    ChainHead.objects.filter(pk=ChainHead.SINGLETON_ID).update(height=position, head_hash=previous)
    _write_seal(position, previous)
    return len(links), len(queued) if from_queue else len(links)


def _write_seal(height: int, head_hash: str) -> None:
    """Sign the new head with the environment's key (``ledger.signing``), in the batch's transaction."""
    key = current_key()
    ChainSeal.objects.create(
        height=height,
        head_hash=head_hash,
        key_id=key.key_id,
        signature=key.sign(height, head_hash),
        sealed_at=timezone.now(),
    )


class UnsignedChainHead(RuntimeError):
    """The chain head carries no valid seal: links were appended, or the head moved, without the signing key.

    The sealer stops rather than sign on top of it (its next seal would vouch for whatever was slipped in);
    ``verify_ledger`` reports it, and an operator must investigate before sealing resumes."""


def _require_signed_head(head: ChainHead) -> None:
    """Seal only on top of a head we signed ourselves. A chain sealed before seals existed has none at all: its
    head is signed once, now, which anchors what was sealed until then as it stands."""
    seal = ChainSeal.objects.filter(height=head.height).first()
    if seal is None:
        if head.height == 0:
            return
        if not ChainSeal.objects.exists():
            _write_seal(head.height, head.head_hash)
            return
        raise UnsignedChainHead(f"chain head #{head.height} has no seal: it was moved without the signing key")
    if seal.head_hash != head.head_hash or not seal_is_valid(
        seal.height, seal.head_hash, seal.key_id, seal.signature, verification_keys()
    ):
        raise UnsignedChainHead(f"the seal of chain head #{head.height} does not verify with the signing keys")


def request_seal() -> None:
    """Ask for a seal once the current transaction commits (cheap; see the module docstring)."""
    if settings.LEDGER_SEAL_ON_COMMIT:
        # Beat and verification seal anyway, should this message be lost.
        enqueue_on_commit(enqueue_seal)


def enqueue_seal() -> None:
    global _last_enqueued
    with _enqueue_lock:
        now = time.monotonic()
        if now - _last_enqueued < SEAL_DEBOUNCE_SECONDS:
            return
        _last_enqueued = now
    from ledger.tasks import seal_ledger_task  # the tasks module imports the services, which import this

    seal_ledger_task.apply_async(countdown=SEAL_DEBOUNCE_SECONDS)
