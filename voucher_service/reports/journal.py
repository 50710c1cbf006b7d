"""The journal export: entries and postings with their digests and chain positions.

Two forms:

* a **table** (JSON pages, CSV, XLSX): one row per posting of every entry recorded by ``as_of`` that touches the
  accounts asked for, in entry and posting order, with the entry's body digest and its chain position and hash
  (empty while it was not sealed yet);
* **JSON Lines** (``file_format=jsonl``), which the offline verifier (``scripts/verify_journal_export.py``) checks
  without trusting the service: the chain as sealed at ``as_of``, from ``chain_from`` (default: the first link of
  an entry exported) to the head then, one ``link`` line per position, each exported entry in full just before
  its link, a ``header`` line first and a ``trailer`` line last (the SHA-256 of every byte before it). Every line
  is canonical JSON (sorted keys, no spaces, UTF-8), so any changed byte is noticed.

Filters (``program``, ``account``, ``entity``, ``date_from``/``date_to`` on the recorded time) choose entries; an
entry is exported with all its postings.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from accounts.models import Organization
from ledger.hashing import iso_utc
from ledger.history import chain_head_at, chain_links, entries_with_postings, first_position_of
from ledger.models import Account, JournalEntry, Posting
from voucher_service.reports import journal_sql
from voucher_service.reports.registers import BATCH, day_end, day_start
from voucher_service.reports.tabular import Column, Kind, Report, ReportContext
from voucher_service.vouchers.selectors import vouchers_of_programs

FORMAT = "voucher_service.journal/1"


def canonical_line(value: dict[str, Any]) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


def program_accounts(program_ids: list[int]) -> QuerySet[Account]:
    """The ledger accounts of these programs: budget and claims accounts (``programs:<id>:…``, ``claims:<id>:…``)
    and their vouchers'."""
    codes = Q(pk__in=[])
    for program_id in program_ids:
        codes |= Q(code__startswith=f"programs:{program_id}:") | Q(code__startswith=f"claims:{program_id}:")
    return Account.objects.filter(codes | Q(pk__in=vouchers_of_programs(program_ids).values("account_id")))


def _touching(accounts: QuerySet[Account]) -> Exists:
    return Exists(Posting.objects.filter(entry_id=OuterRef("pk"), account__in=accounts))


def matching_entries(context: ReportContext) -> QuerySet[JournalEntry]:
    """The entries the reader may see that the filters choose (not yet limited in time)."""
    params, scope = context.params, context.scope
    entries = JournalEntry.objects.all()
    if not scope.is_staff:
        entries = entries.filter(_touching(program_accounts(sorted(scope.program_ids))))
    if params.get("program") is not None:
        entries = entries.filter(_touching(program_accounts([params["program"]])))
    if params.get("account"):
        entries = entries.filter(_touching(Account.objects.filter(code=params["account"])))
    if params.get("entity") is not None:
        entity_accounts = Account.objects.filter(
            owner_content_type__app_label="accounts",
            owner_content_type__model=Organization._meta.model_name,
            owner_object_id=str(params["entity"]),
        )
        entries = entries.filter(_touching(entity_accounts))
    if params.get("date_from") is not None:
        entries = entries.filter(recorded_at__gte=day_start(params["date_from"]))
    if params.get("date_to") is not None:
        entries = entries.filter(recorded_at__lte=day_end(params["date_to"]))
    return entries


class JournalReport(Report):
    name = "journal"
    title = _("Journal")
    file_formats = ("csv", "xlsx", "jsonl")
    columns = (
        Column("entry", _("Entry"), Kind.INT),
        Column("chain_position", _("Chain position"), Kind.INT, nullable=True),
        Column("chain_hash", _("Chain hash"), nullable=True),
        Column("body_digest", _("Entry digest")),
        Column("recorded_at", _("Recorded at"), Kind.DATETIME),
        Column("effective_at", _("Effective at"), Kind.DATETIME),
        Column("idempotency_key", _("Entry key")),
        Column("memo", _("Memo")),
        Column("posting", _("Posting"), Kind.INT),
        Column("account", _("Account")),
        Column("direction", _("Direction")),
        Column("amount", _("Amount"), Kind.MONEY),
        Column("account_version", _("Account version"), Kind.INT),
        Column("balance_after", _("Balance after"), Kind.MONEY),
    )

    def postings(self, context: ReportContext) -> QuerySet:
        entries = matching_entries(context).filter(recorded_at__lte=context.as_of)
        return (
            Posting.objects.filter(entry__in=entries)
            .order_by("entry_id", "pk")
            .values_list(
                "entry_id",
                "entry__chain_link__position",
                "entry__chain_link__hash",
                "entry__chain_link__sealed_at",
                "entry__body_digest",
                "entry__recorded_at",
                "entry__effective_at",
                "entry__idempotency_key",
                "entry__memo",
                "pk",
                "account__code",
                "direction",
                "amount",
                "account_version",
                "balance_after",
            )
        )

    def _row(self, row: tuple[Any, ...], context: ReportContext) -> tuple[Any, ...]:
        entry, position, link_hash, sealed_at, *rest = row
        if sealed_at is not None and sealed_at > context.as_of:
            position = link_hash = None
        return (entry, position, link_hash, *rest)

    def rows(self, context: ReportContext) -> Iterator[tuple[Any, ...]]:
        for row in self.postings(context).iterator(BATCH):
            yield self._row(row, context)

    def csv_lines(self, context: ReportContext) -> Iterator[tuple[int, str]] | None:
        if connection.vendor != "postgresql" or journal_sql.zone_name() is None:
            return None
        return journal_sql.csv_lines(self.postings(context), context)

    def count(self, context: ReportContext) -> int:
        return self.postings(context).count()

    def page(self, context: ReportContext, offset: int, limit: int) -> list[tuple[Any, ...]]:
        return [self._row(row, context) for row in self.postings(context)[offset : offset + limit]]

    # --- JSON Lines --------------------------------------------------------------------------------------------

    def jsonl_chunks(self, context: ReportContext, progress: Any = None) -> Iterator[bytes]:
        digest = hashlib.sha256()
        lines = 0
        for line in self._jsonl_lines(context, progress):
            digest.update(line)
            lines += 1
            yield line
        yield canonical_line({"type": "trailer", "lines": lines, "sha256": digest.hexdigest()})

    def _jsonl_lines(self, context: ReportContext, progress: Any) -> Iterator[bytes]:
        head = chain_head_at(context.as_of)
        chosen = matching_entries(context)
        first = context.params.get("chain_from") or first_position_of(chosen.values("pk"), head.height)
        first = min(first or head.height, head.height) or 1
        yield canonical_line(
            {
                "type": "header",
                "format": FORMAT,
                "as_of": iso_utc(context.as_of),
                "filters": {key: _plain(context.params.get(key)) for key in FILTER_KEYS},
                "chain_from": first if head.height else 0,
                "head": {"height": head.height, "hash": head.head_hash},
            }
        )
        if head.height == 0:
            return
        batch: list[tuple[int, int, str, str, str]] = []
        written = 0
        for link in chain_links(first, head.height):
            batch.append(link)
            if len(batch) >= BATCH:
                yield from self._batch(batch, chosen)
                written += len(batch)
                batch = []
                if progress is not None:
                    progress(written)
        yield from self._batch(batch, chosen)

    def _batch(self, links: list[tuple[int, int, str, str, str]], chosen: QuerySet[JournalEntry]) -> Iterator[bytes]:
        if not links:
            return
        wanted = set(chosen.filter(pk__in=[link[1] for link in links]).values_list("pk", flat=True))
        full = entries_with_postings(sorted(wanted))
        for position, entry_id, prev_hash, link_hash, body_digest in links:
            if entry_id in full:
                entry, postings = full[entry_id]
                yield canonical_line(entry_document(entry, postings, position))
            yield canonical_line(
                {
                    "type": "link",
                    "position": position,
                    "entry": entry_id,
                    "prev_hash": prev_hash,
                    "hash": link_hash,
                    "body_digest": body_digest,
                }
            )


FILTER_KEYS = ("program", "account", "entity", "date_from", "date_to")


def _plain(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def entry_document(entry: JournalEntry, postings: list[Posting], position: int) -> dict[str, Any]:
    """Everything ``ledger.hashing.entry_document`` covers, so the body digest can be recomputed from it."""
    return {
        "type": "entry",
        "id": entry.pk,
        "position": position,
        "actor": entry.actor_id,
        "currency": entry.currency,
        "effective_at": iso_utc(entry.effective_at),
        "idempotency_key": entry.idempotency_key,
        "memo": entry.memo,
        "metadata": entry.metadata,
        "recorded_at": iso_utc(entry.recorded_at),
        "request_fingerprint": entry.request_fingerprint,
        "reverses": entry.reverses_id,
        "body_digest": entry.body_digest,
        "postings": [
            {
                "id": p.pk,
                "account": p.account_id,
                "direction": str(p.direction),
                "amount": p.amount,
                "account_version": p.account_version,
                "balance_after": p.balance_after,
                "recorded_at": iso_utc(p.recorded_at),
            }
            for p in postings
        ],
    }
