"""Point-in-time reads of the ledger: totals, balances and account histories as of a moment, and the journal as
it was sealed then. Reads only; the auditor reports (``voucher_service.reports``) are built on these.

The time axis is the recorded one (``Posting.recorded_at``, ``Hold.created_at``/``resolved_at``,
``ChainLink.sealed_at``), which is append-only: a report as of a past moment gives the same answer every time.
An account's events are ordered by its version (every posting and hold event names the version it produced).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from django.db import models
from django.db.models import Case, F, IntegerField, OuterRef, Q, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce

from ledger.models import GENESIS_HASH, ChainLink, Direction, Hold, JournalEntry, Posting

BATCH_SIZE = 2000


@dataclass(frozen=True)
class AccountTotals:
    """Posted debits and credits, and what open holds reserve, on one account (or a set of accounts)."""

    posted_debits: int = 0
    posted_credits: int = 0
    pending_debits: int = 0
    pending_credits: int = 0

    @property
    def balance(self) -> int:
        """Credits − debits (the ledger's sign convention)."""
        return self.posted_credits - self.posted_debits

    @property
    def available(self) -> int:
        return self.balance - self.pending_debits


def _account_filter(accounts: Iterable[int] | models.QuerySet, field: str = "account_id") -> Q:
    return Q(**{f"{field}__in": accounts if isinstance(accounts, models.QuerySet) else list(accounts)})


def _pending_q(as_of: datetime | None) -> Q:
    """Holds open at ``as_of`` (open now when None)."""
    if as_of is None:
        return Q(resolved_at__isnull=True)
    return Q(created_at__lte=as_of) & (Q(resolved_at__isnull=True) | Q(resolved_at__gt=as_of))


def totals(accounts: Iterable[int] | models.QuerySet, as_of: datetime | None = None) -> dict[int, AccountTotals]:
    """Each account's totals as of ``as_of`` (recorded time), from the postings and holds themselves."""
    postings = Posting.objects.filter(_account_filter(accounts))
    if as_of is not None:
        postings = postings.filter(recorded_at__lte=as_of)
    sums: dict[int, dict[str, int]] = defaultdict(lambda: {"debit": 0, "credit": 0, "pd": 0, "pc": 0})
    for account_id, direction, total in postings.values_list("account_id", "direction").annotate(t=Sum("amount")):
        sums[account_id][direction] = total
    holds = Hold.objects.filter(_pending_q(as_of))
    for key, field in (("pd", "debit_account_id"), ("pc", "credit_account_id")):
        scoped = holds.filter(_account_filter(accounts, field))
        for account_id, total in scoped.values_list(field).annotate(t=Sum("amount")).order_by():
            sums[account_id][key] = total
    return {
        account_id: AccountTotals(row["debit"], row["credit"], row["pd"], row["pc"]) for account_id, row in sums.items()
    }


def totals_of(account_id: int, as_of: datetime | None = None) -> AccountTotals:
    return totals([account_id], as_of).get(account_id, AccountTotals())


def combined_totals(accounts: Iterable[int] | models.QuerySet, as_of: datetime | None = None) -> AccountTotals:
    """The totals of a set of accounts added together (every voucher account of a program-year, say)."""
    postings = Posting.objects.filter(_account_filter(accounts))
    if as_of is not None:
        postings = postings.filter(recorded_at__lte=as_of)
    sums = postings.aggregate(
        debits=Coalesce(Sum("amount", filter=Q(direction=Direction.DEBIT)), 0),
        credits=Coalesce(Sum("amount", filter=Q(direction=Direction.CREDIT)), 0),
    )
    holds = Hold.objects.filter(_pending_q(as_of))
    pending_debits = holds.filter(_account_filter(accounts, "debit_account_id")).aggregate(t=Sum("amount"))["t"]
    pending_credits = holds.filter(_account_filter(accounts, "credit_account_id")).aggregate(t=Sum("amount"))["t"]
    return AccountTotals(sums["debits"], sums["credits"], pending_debits or 0, pending_credits or 0)


def balance_as_of_expression(account_field: str, as_of: datetime) -> Subquery:
    """For ``annotate``: the posted balance of the account named by ``account_field`` as of ``as_of`` (one index
    lookup per row: the balance-after of its last posting recorded by then; 0 before its first)."""
    last = (
        Posting.objects.filter(account_id=OuterRef(account_field), recorded_at__lte=as_of)
        .order_by("-recorded_at", "-account_version")
        .values("balance_after")[:1]
    )
    return Subquery(last, output_field=models.BigIntegerField())


def pending_debits_as_of_expression(account_field: str, as_of: datetime) -> Coalesce:
    """For ``annotate``: what holds open at ``as_of`` reserve on the account named by ``account_field``."""
    open_then = (
        Hold.objects.filter(_pending_q(as_of), debit_account_id=OuterRef(account_field))
        .order_by()
        .values("debit_account_id")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    return Coalesce(Subquery(open_then, output_field=models.BigIntegerField()), Value(0))


@dataclass(frozen=True)
class AccountState:
    """An account right after one of its events (a posting, or a hold created or released)."""

    account_id: int
    version: int
    at: datetime
    event: str  # "posting", "hold", "release"
    entry_id: int | None
    posted_debits: int
    posted_credits: int
    pending_debits: int
    pending_credits: int
    balance_after: int

    @property
    def available(self) -> int:
        return self.balance_after - self.pending_debits


HoldEvents = dict[int, dict[int, tuple[str, int, int, datetime | None]]]


def _hold_events(account_ids: list[int], as_of: datetime | None) -> HoldEvents:
    """account -> version -> (event, Δ pending debits, Δ pending credits, when), from the holds on those accounts.

    A posted hold releases its reserve at the version of its posting (``hold_post`` does both in one change)."""
    events: HoldEvents = defaultdict(dict)
    holds = Hold.objects.filter(Q(debit_account_id__in=account_ids) | Q(credit_account_id__in=account_ids))
    if as_of is not None:
        holds = holds.filter(created_at__lte=as_of)
    posted_entries: dict[int, list[Hold]] = defaultdict(list)
    for hold in holds.order_by("pk").iterator(BATCH_SIZE):
        for account_id, created, released, sign in (
            (hold.debit_account_id, hold.debit_version_created, hold.debit_version_released, (1, 0)),
            (hold.credit_account_id, hold.credit_version_created, hold.credit_version_released, (0, 1)),
        ):
            if account_id not in account_ids:
                continue
            events[account_id][created] = ("hold", sign[0] * hold.amount, sign[1] * hold.amount, hold.created_at)
            resolved = hold.resolved_at is not None and (as_of is None or hold.resolved_at <= as_of)
            if released is not None and resolved:
                delta = (-sign[0] * hold.amount, -sign[1] * hold.amount)
                events[account_id][released] = ("release", *delta, hold.resolved_at)
        if hold.entry_id is not None:
            posted_entries[hold.entry_id].append(hold)
    if posted_entries:
        postings = Posting.objects.filter(entry_id__in=list(posted_entries), account_id__in=account_ids)
        if as_of is not None:
            postings = postings.filter(recorded_at__lte=as_of)
        for entry_id, account_id, version in postings.values_list("entry_id", "account_id", "account_version"):
            for hold in posted_entries[entry_id]:
                if account_id == hold.debit_account_id:
                    events[account_id][version] = ("release", -hold.amount, 0, None)
                elif account_id == hold.credit_account_id:
                    events[account_id][version] = ("release", 0, -hold.amount, None)
    return events


def account_timeline(account_ids: Iterable[int], as_of: datetime | None = None) -> Iterator[AccountState]:
    """Every state each account went through, in (account, version) order, up to ``as_of``: the running posted
    totals, the open reserves and the balance-after of each posting, as the journal recorded them."""
    ids = sorted(set(account_ids))
    for start in range(0, len(ids), BATCH_SIZE):
        chunk = ids[start : start + BATCH_SIZE]
        holds = _hold_events(chunk, as_of)
        postings = Posting.objects.filter(account_id__in=chunk)
        if as_of is not None:
            postings = postings.filter(recorded_at__lte=as_of)
        rows = postings.order_by("account_id", "account_version").values_list(
            "account_id", "account_version", "recorded_at", "entry_id", "direction", "amount", "balance_after"
        )
        yield from _merge(chunk, rows.iterator(BATCH_SIZE), holds)


def _merge(chunk: list[int], postings: Iterator[tuple], holds: HoldEvents) -> Iterator[AccountState]:
    by_account: dict[int, list[tuple]] = defaultdict(list)
    for row in postings:
        by_account[row[0]].append(row)
    for account_id in chunk:
        debits = credits = pending_debits = pending_credits = balance = 0
        hold_events = holds.get(account_id, {})
        posting_versions = {row[1]: row for row in by_account.get(account_id, [])}
        for version in sorted(set(posting_versions) | set(hold_events)):
            event, entry_id, at = "hold", None, None
            if version in hold_events:
                event, delta_debits, delta_credits, at = hold_events[version]
                pending_debits += delta_debits
                pending_credits += delta_credits
            if version in posting_versions:
                _, _, at, entry_id, direction, amount, balance = posting_versions[version]
                event = "posting"
                if direction == Direction.DEBIT:
                    debits += amount
                else:
                    credits += amount
            if at is None:  # pragma: no cover - a release always has a time or a posting
                continue
            yield AccountState(
                account_id, version, at, event, entry_id, debits, credits, pending_debits, pending_credits, balance
            )


# --- The journal as sealed ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChainPoint:
    height: int
    head_hash: str


def chain_head_at(as_of: datetime | None = None) -> ChainPoint:
    """The chain as it was sealed at ``as_of`` (the last link sealed by then), or the current one."""
    links = ChainLink.objects.order_by("-position")
    if as_of is not None:
        links = links.filter(sealed_at__lte=as_of)
    last = links.values_list("position", "hash").first()
    return ChainPoint(0, GENESIS_HASH) if last is None else ChainPoint(last[0], last[1])


def chain_links(first: int, last: int) -> Iterator[tuple[int, int, str, str, str]]:
    """(position, entry id, prev_hash, hash, the entry's body digest) for links ``first`` to ``last``, in order."""
    links = (
        ChainLink.objects.filter(position__gte=first, position__lte=last)
        .order_by("position")
        .values_list("position", "entry_id", "prev_hash", "hash", "entry__body_digest")
    )
    yield from links.iterator(BATCH_SIZE)


def entries_with_postings(entry_ids: list[int]) -> dict[int, tuple[JournalEntry, list[Posting]]]:
    """The entries named, each with its postings (by posting id)."""
    entries: dict[int, tuple[JournalEntry, list[Posting]]] = {
        entry.pk: (entry, []) for entry in JournalEntry.objects.filter(pk__in=entry_ids)
    }
    postings: list[Posting]
    for posting in Posting.objects.filter(entry_id__in=entry_ids).order_by("pk"):
        postings = entries[posting.entry_id][1]
        postings.append(posting)
    return entries


def first_position_of(entry_ids: models.QuerySet, last: int) -> int | None:
    """The lowest chain position among ``entry_ids`` (a queryset of entry ids) at or below ``last``."""
    return (
        ChainLink.objects.filter(entry_id__in=entry_ids, position__lte=last)
        .order_by("position")
        .values_list("position", flat=True)
        .first()
    )


def signed_amount_expression() -> Case:
    return Case(When(direction=Direction.CREDIT, then=F("amount")), default=-F("amount"), output_field=IntegerField())
