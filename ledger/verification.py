"""Whole-ledger verification: recompute everything that the write path maintains incrementally.

Used by ``manage.py verify_ledger`` and by the periodic ``ledger.verify`` task. It seals first (everything
committed is appended to the hash chain), then verifies. Each check lists its problems
in words an auditor can act on ("posting #12 (entry #7) …"); the report ends with the chain head
(``<height>:<hash>``) so it can be pinned and compared later.

Beyond recomputing what the write path maintains, three defences against someone who can write the database:

* **signed seals** (``seals``): every chain head the sealer made is signed with a key the database never holds
  (``ledger.signing``); a history rewritten after sealing no longer matches its seals, links appended without
  the key are covered by none, and links removed leave seals beyond the end of the chain;
* **pinned heads** (``pinned_heads``): a head exported earlier (``verify_ledger --export-head``, or the previous
  verification run) must still be in the chain, with the same hash: a truncated or rewritten chain is not;
* **the domain's explanations** (``entries_explained``, ``reconciliation``): every entry and hold on an account
  the domain claims must be explained by the domain record that caused it, and the domain reconciles its own
  figures with the ledger (``ledger.explanations``). A forged but balanced entry is explained by nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db.models import Case, Count, F, IntegerField, Q, Sum, When
from django.utils import timezone

from ledger import explanations
from ledger.explanations import EntryFacts, HoldFacts, PostingFacts
from ledger.hashing import chain_hash, entry_body_digest
from ledger.models import (
    GENESIS_HASH,
    Account,
    ChainHead,
    ChainLink,
    ChainSeal,
    Direction,
    Hold,
    HoldStatus,
    JournalEntry,
    Posting,
    VerificationRun,
)
from ledger.sealing import UnsignedChainHead, seal_pending
from ledger.signing import SigningKey, seal_is_valid, verification_keys

MAX_PROBLEMS_PER_CHECK = 50
BATCH_SIZE = 2000
# An entry is normally sealed within seconds; one still unsealed after this is reported (a stuck sealer).
SEAL_GRACE = timedelta(minutes=5)
CHECKS = (
    "entries_balance",
    "ledger_balances",
    "balance_rows_match_postings",
    "pending_matches_open_holds",
    "versions_have_no_gaps",
    "balance_after_chain",
    "entry_digests",
    "sealed",
    "hash_chain",
    "seals",
    "pinned_heads",
    "limits",
    "entries_explained",
    "reconciliation",
)
HOLD_POST_KEY = "ledger:hold:"


@dataclass(frozen=True)
class Pin:
    """A chain head recorded earlier: link ``height`` had hash ``head_hash``. Written ``<height>:<hash>``."""

    height: int
    head_hash: str

    @classmethod
    def parse(cls, text: str) -> Pin:
        height, _, head_hash = text.strip().partition(":")
        if not height.isdigit() or len(head_hash) != 64 or any(c not in "0123456789abcdef" for c in head_hash):
            raise ValueError(f"not a chain head pin (<height>:<64 hex digits>): {text.strip()!r}")
        return cls(int(height), head_hash)

    def __str__(self) -> str:
        return f"{self.height}:{self.head_hash}"


_SIGNED_AMOUNT = Case(
    When(direction=Direction.CREDIT, then=F("amount")),
    default=-F("amount"),
    output_field=IntegerField(),
)


@dataclass
class VerificationReport:
    head_hash: str = GENESIS_HASH
    head_height: int = 0
    entry_count: int = 0
    posting_count: int = 0
    problems: dict[str, list[str]] = field(default_factory=lambda: {name: [] for name in CHECKS})
    problem_counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CHECKS, 0))

    @property
    def ok(self) -> bool:
        return not any(self.problem_counts.values())

    def add(self, check: str, message: str) -> None:
        self.problem_counts[check] += 1
        if len(self.problems[check]) < MAX_PROBLEMS_PER_CHECK:
            self.problems[check].append(message)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "head_height": self.head_height,
            "head_hash": self.head_hash,
            "entry_count": self.entry_count,
            "posting_count": self.posting_count,
            "checks": {
                name: {"ok": self.problem_counts[name] == 0, "problems": self.problems[name]} for name in CHECKS
            },
            "problem_counts": self.problem_counts,
        }

    def render(self) -> str:
        lines = [f"Ledger verification: {'OK' if self.ok else 'FAILED'}"]
        lines.append(f"  entries: {self.entry_count}, postings: {self.posting_count}")
        for name in CHECKS:
            count = self.problem_counts[name]
            lines.append(f"  [{'ok' if count == 0 else 'FAIL'}] {name}" + (f" ({count} problem(s))" if count else ""))
            lines.extend(f"      - {message}" for message in self.problems[name])
        lines.append(f"Chain head hash: {self.head_hash}")
        lines.append(f"Chain head pin: {self.pin}")
        return "\n".join(lines)

    @property
    def pin(self) -> Pin:
        return Pin(self.head_height, self.head_hash)


def verify_ledger(*, seal: bool = True, pins: list[Pin] | None = None) -> VerificationReport:
    """Seal every committed entry (unless ``seal=False``: then nothing is written), run every check, report.

    ``pins``: chain heads recorded earlier that must still be in the chain, unchanged."""
    report = VerificationReport()
    if seal:
        try:
            seal_pending(full=True)
        except UnsignedChainHead as exc:
            report.add("seals", f"sealing refused: {exc}")
    report.entry_count = JournalEntry.objects.count()
    report.posting_count = Posting.objects.count()
    accounts = {account.pk: account for account in Account.objects.all()}
    _check_entries_balance(report)
    _check_balance_rows(report, accounts)
    _check_pending(report, accounts)
    _check_versions(report, accounts)
    _check_balance_after(report, accounts)
    _check_entry_digests_and_explanations(report, accounts)
    _check_sealed(report)
    _check_hash_chain(report, pins or [])
    _check_limits(report, accounts.values())
    _check_holds_explained(report, accounts)
    _check_reconciliations(report)
    return report


def verification_run_record() -> VerificationRun:
    """Run the verification and keep its result as a ``VerificationRun`` row.

    The head of the last successful run is pinned: it must still be in the chain, unchanged."""
    previous = VerificationRun.objects.filter(ok=True, head_height__isnull=False).order_by("-started_at", "-pk").first()
    pins = [Pin(previous.head_height, previous.head_hash)] if previous and previous.head_height else []
    run = VerificationRun.objects.create(started_at=timezone.now())
    report = verify_ledger(pins=pins)
    run.finished_at = timezone.now()
    run.ok = report.ok
    run.head_height = report.head_height
    run.head_hash = report.head_hash
    run.entry_count = report.entry_count
    run.report = report.as_dict()
    run.save(update_fields=["finished_at", "ok", "head_height", "head_hash", "entry_count", "report"])
    return run


def _check_entries_balance(report: VerificationReport) -> None:
    per_entry = (
        Posting.objects.values("entry_id")
        .annotate(total=Sum(_SIGNED_AMOUNT), count=Count("id"))
        .exclude(total=0, count__gte=2)
        .order_by("entry_id")
    )
    for row in per_entry:
        posting_ids = list(Posting.objects.filter(entry_id=row["entry_id"]).values_list("pk", flat=True))
        report.add(
            "entries_balance",
            f"entry #{row['entry_id']} does not balance: credits − debits = {row['total']} over "
            f"{row['count']} posting(s) {', '.join(f'#{pk}' for pk in posting_ids)}",
        )
    for entry_id in JournalEntry.objects.filter(postings__isnull=True).values_list("pk", flat=True):
        report.add("entries_balance", f"entry #{entry_id} has no postings")
    total = Posting.objects.aggregate(total=Sum(_SIGNED_AMOUNT))["total"] or 0
    if total != 0:
        report.add("ledger_balances", f"all postings together sum to {total}, not 0")


def _check_balance_rows(report: VerificationReport, accounts: dict[int, Account]) -> None:
    sums: dict[int, dict[str, int]] = defaultdict(lambda: {Direction.DEBIT: 0, Direction.CREDIT: 0})
    for row in Posting.objects.values("account_id", "direction").annotate(total=Sum("amount")):
        sums[row["account_id"]][row["direction"]] = row["total"]
    for account in accounts.values():
        posted = sums[account.pk]
        if (account.posted_debits, account.posted_credits) != (posted[Direction.DEBIT], posted[Direction.CREDIT]):
            report.add(
                "balance_rows_match_postings",
                f"account {account.code}: balance row has debits {account.posted_debits} / credits "
                f"{account.posted_credits}, postings sum to {posted[Direction.DEBIT]} / {posted[Direction.CREDIT]}",
            )


def _check_pending(report: VerificationReport, accounts: dict[int, Account]) -> None:
    pending: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    open_holds = Hold.objects.filter(status=HoldStatus.PENDING)
    for account_id, total in open_holds.values_list("debit_account_id").annotate(total=Sum("amount")):
        pending[account_id][0] = total
    for account_id, total in open_holds.values_list("credit_account_id").annotate(total=Sum("amount")):
        pending[account_id][1] = total
    for account in accounts.values():
        expected = pending[account.pk]
        if [account.pending_debits, account.pending_credits] != expected:
            report.add(
                "pending_matches_open_holds",
                f"account {account.code}: pending debits/credits {account.pending_debits}/"
                f"{account.pending_credits}, open holds sum to {expected[0]}/{expected[1]}",
            )


def _versions_by_account() -> dict[int, list[int]]:
    versions: dict[int, list[int]] = defaultdict(list)
    for account_id, version in Posting.objects.values_list("account_id", "account_version").iterator(BATCH_SIZE):
        versions[account_id].append(version)
    hold_versions = Hold.objects.values_list(
        "debit_account_id",
        "credit_account_id",
        "debit_version_created",
        "credit_version_created",
        "debit_version_released",
        "credit_version_released",
    )
    for debit_id, credit_id, debit_created, credit_created, debit_released, credit_released in hold_versions:
        versions[debit_id].append(debit_created)
        versions[credit_id].append(credit_created)
        if debit_released is not None:
            versions[debit_id].append(debit_released)
        if credit_released is not None:
            versions[credit_id].append(credit_released)
    return versions


def _check_versions(report: VerificationReport, accounts: dict[int, Account]) -> None:
    """Every change bumps the version once and leaves a record (posting or hold event) naming it."""
    recorded = _versions_by_account()
    for account in accounts.values():
        versions = sorted(recorded.get(account.pk, []))
        if versions != list(range(1, account.version + 1)):
            expected = set(range(1, account.version + 1))
            missing = sorted(expected - set(versions))[:10]
            duplicated = sorted({v for v in versions if versions.count(v) > 1})[:10]
            unexpected = sorted(set(versions) - expected)[:10]
            report.add(
                "versions_have_no_gaps",
                f"account {account.code} at version {account.version}: missing {missing}, "
                f"duplicated {duplicated}, beyond the row's version {unexpected}",
            )


def _check_balance_after(report: VerificationReport, accounts: dict[int, Account]) -> None:
    postings = Posting.objects.order_by("account_id", "account_version").values_list(
        "pk", "entry_id", "account_id", "account_version", "direction", "amount", "balance_after"
    )
    current_account, running = None, 0
    last_seen: dict[int, int] = {}
    for pk, entry_id, account_id, version, direction, amount, balance_after in postings.iterator(BATCH_SIZE):
        if account_id != current_account:
            current_account, running = account_id, 0
        running += amount if direction == Direction.CREDIT else -amount
        if balance_after != running:
            code = accounts[account_id].code if account_id in accounts else account_id
            report.add(
                "balance_after_chain",
                f"posting #{pk} (entry #{entry_id}, account {code} v{version}): balance_after "
                f"{balance_after}, but the postings before it give {running}",
            )
            running = balance_after  # report each break once, not every posting after it
        last_seen[account_id] = balance_after
    for account in accounts.values():
        if last_seen.get(account.pk, 0) != account.posted_balance:
            report.add(
                "balance_after_chain",
                f"account {account.code}: last posting's balance_after {last_seen.get(account.pk, 0)} ≠ "
                f"balance row {account.posted_balance}",
            )


def _entries_with_postings() -> Iterator[tuple[JournalEntry, list[Posting]]]:
    last_id = 0
    while True:
        batch = list(JournalEntry.objects.filter(pk__gt=last_id).order_by("pk")[:BATCH_SIZE])
        if not batch:
            return
        postings: dict[int, list[Posting]] = defaultdict(list)
        for posting in Posting.objects.filter(entry_id__in=[entry.pk for entry in batch]):
            postings[posting.entry_id].append(posting)
        for entry in batch:
            yield entry, postings[entry.pk]
        last_id = batch[-1].pk


def _check_entry_digests_and_explanations(report: VerificationReport, accounts: dict[int, Account]) -> None:
    """Each entry's stored body digest recomputes from the entry and its postings as they are now; and each
    entry on an account the domain claims is explained by the domain (one pass over the journal for both)."""
    claimed = {pk for pk, account in accounts.items() if explanations.claimant(account.code)}
    batch: list[EntryFacts] = []
    for entry, postings in _entries_with_postings():
        recomputed = entry_body_digest(entry, postings)
        if recomputed != entry.body_digest:
            report.add(
                "entry_digests",
                f"entry #{entry.pk}: stored body digest {entry.body_digest[:16]}… ≠ recomputed {recomputed[:16]}… "
                f"(postings {', '.join(f'#{p.pk}' for p in sorted(postings, key=lambda p: p.pk))})",
            )
        if claimed and any(p.account_id in claimed for p in postings):
            batch.append(_entry_facts(entry, postings, accounts))
            if len(batch) >= BATCH_SIZE:
                _explain_entries(report, batch)
                batch = []
    if batch:
        _explain_entries(report, batch)


def _entry_facts(entry: JournalEntry, postings: list[Posting], accounts: dict[int, Account]) -> EntryFacts:
    return EntryFacts(
        entry_id=entry.pk,
        idempotency_key=entry.idempotency_key,
        metadata=entry.metadata if isinstance(entry.metadata, dict) else {},
        reverses_id=entry.reverses_id,
        postings=tuple(
            PostingFacts(
                p.account_id, accounts[p.account_id].code if p.account_id in accounts else "?", p.direction, p.amount
            )
            for p in sorted(postings, key=lambda p: p.pk)
        ),
    )


def _describe(facts: EntryFacts) -> str:
    moves = ", ".join(f"{p.direction} {p.account_code} {p.amount}" for p in facts.postings)
    return f"entry #{facts.entry_id} (key {facts.idempotency_key!r}: {moves})"


def _explain_entries(report: VerificationReport, batch: list[EntryFacts]) -> None:
    by_prefix: dict[str, list[EntryFacts]] = defaultdict(list)
    hold_posts: list[EntryFacts] = []
    described = {facts.entry_id: facts for facts in batch}
    for facts in batch:
        prefix = explanations.entry_explainer_prefix(facts.idempotency_key)
        if prefix is not None:
            by_prefix[prefix].append(facts)
        elif facts.idempotency_key.startswith(HOLD_POST_KEY):
            hold_posts.append(facts)
        else:
            report.add(
                "entries_explained", f"{_describe(facts)} moves the domain's money and no domain record explains it"
            )
    for prefix, entries in by_prefix.items():
        try:
            unexplained = list(explanations.entry_explainer(prefix)(entries))
        except Exception as exc:  # one explainer failing must not hide the rest of the report
            report.add("entries_explained", f"the explainer of {prefix!r} entries failed: {type(exc).__name__}: {exc}")
            continue
        for entry_id, problem in unexplained:
            report.add("entries_explained", f"{_describe(described[entry_id])}: {problem}")
    _explain_hold_posts(report, hold_posts)


def _explain_hold_posts(report: VerificationReport, entries: list[EntryFacts]) -> None:
    """A hold's posting entry is explained by its hold (which the domain explains, ``_check_holds_explained``)."""
    holds = {hold.entry_id: hold for hold in Hold.objects.filter(entry_id__in=[f.entry_id for f in entries])}
    for facts in entries:
        hold = holds.get(facts.entry_id)
        expected = f"{HOLD_POST_KEY}{hold.pk}:post" if hold else None
        if (
            hold is None
            or facts.idempotency_key != expected
            or hold.status != HoldStatus.POSTED
            or facts.debits() != {hold.debit_account_id: hold.posted_amount}
            or facts.credits() != {hold.credit_account_id: hold.posted_amount}
        ):
            report.add("entries_explained", f"{_describe(facts)} is not the posting of a hold that says so")


def _check_holds_explained(report: VerificationReport, accounts: dict[int, Account]) -> None:
    claimed = {pk for pk, account in accounts.items() if explanations.claimant(account.code)}
    if not claimed:
        return
    holds = Hold.objects.filter(Q(debit_account_id__in=claimed) | Q(credit_account_id__in=claimed)).order_by("pk")
    by_prefix: dict[str, list[HoldFacts]] = defaultdict(list)
    for hold in holds.iterator(BATCH_SIZE):
        facts = HoldFacts(
            hold_id=hold.pk,
            idempotency_key=hold.idempotency_key,
            metadata=hold.metadata if isinstance(hold.metadata, dict) else {},
            debit_account_id=hold.debit_account_id,
            debit_account_code=accounts[hold.debit_account_id].code,
            credit_account_id=hold.credit_account_id,
            credit_account_code=accounts[hold.credit_account_id].code,
            amount=hold.amount,
            status=hold.status,
            posted_amount=hold.posted_amount,
        )
        prefix = explanations.hold_explainer_prefix(hold.idempotency_key)
        if prefix is None:
            report.add(
                "entries_explained",
                f"hold #{hold.pk} (key {hold.idempotency_key!r}: {hold.amount} from {facts.debit_account_code} to "
                f"{facts.credit_account_code}) reserves the domain's money and no domain record explains it",
            )
        else:
            by_prefix[prefix].append(facts)
    for prefix, batch in by_prefix.items():
        try:
            for hold_id, problem in explanations.hold_explainer(prefix)(batch):
                report.add("entries_explained", f"hold #{hold_id} (key prefix {prefix!r}): {problem}")
        except Exception as exc:  # one explainer failing must not hide the rest of the report
            report.add("entries_explained", f"the explainer of {prefix!r} holds failed: {type(exc).__name__}: {exc}")


def _check_reconciliations(report: VerificationReport) -> None:
    for name, check in explanations.reconciliations().items():
        try:
            for problem in check():
                report.add("reconciliation", f"{name}: {problem}")
        except Exception as exc:  # one reconciliation failing must not hide the others
            report.add("reconciliation", f"{name}: the check failed: {type(exc).__name__}: {exc}")


def _check_sealed(report: VerificationReport) -> None:
    cutoff = timezone.now() - SEAL_GRACE
    late = JournalEntry.objects.filter(chain_link__isnull=True, recorded_at__lt=cutoff).order_by("id")
    for entry_id, recorded_at in late.values_list("id", "recorded_at")[:MAX_PROBLEMS_PER_CHECK]:
        report.add("sealed", f"entry #{entry_id} recorded {recorded_at:%Y-%m-%d %H:%M:%S} is not sealed")
    if report.problem_counts["sealed"] == MAX_PROBLEMS_PER_CHECK:
        report.problem_counts["sealed"] = late.count()  # list the first ones, count them all


def _check_hash_chain(report: VerificationReport, pins: list[Pin]) -> None:
    """Links 1..n recompute one by one from their entries' stored digests, the head names the last one, every
    seal on the way verifies and names the hash the chain has there, the last link is sealed, and every pin is
    still in the chain."""
    keys = verification_keys()
    seals = {seal.height: seal for seal in ChainSeal.objects.all()}
    pinned = {pin.height: pin for pin in pins}
    seen_at_pins: dict[int, str] = {}
    last_valid_seal = 0
    previous_hash, expected_position = GENESIS_HASH, 1
    links = ChainLink.objects.order_by("position").values_list(
        "position", "entry_id", "prev_hash", "hash", "entry__body_digest"
    )
    for position, entry_id, prev_hash, link_hash, body_digest in links.iterator(BATCH_SIZE):
        if position != expected_position:
            report.add("hash_chain", f"link positions jump from #{expected_position - 1} to #{position}")
        if prev_hash != previous_hash:
            report.add("hash_chain", f"link #{position} (entry #{entry_id}): prev_hash does not match the link before")
        recomputed = chain_hash(prev_hash, position, body_digest)
        if recomputed != link_hash:
            report.add(
                "hash_chain",
                f"link #{position} (entry #{entry_id}): stored hash {link_hash[:16]}… ≠ recomputed {recomputed[:16]}…",
            )
        if position in seals and _seal_holds(report, seals[position], link_hash, keys):
            last_valid_seal = position
        if position in pinned:
            seen_at_pins[position] = link_hash
        previous_hash, expected_position = link_hash, position + 1
    height = expected_position - 1
    head = ChainHead.objects.filter(pk=ChainHead.SINGLETON_ID).first() or ChainHead()
    if (head.height, head.head_hash) != (height, previous_hash):
        report.add(
            "hash_chain",
            f"chain head row says #{head.height} {head.head_hash[:16]}…, the chain ends at "
            f"#{height} {previous_hash[:16]}…",
        )
    _check_seal_coverage(report, seals, height, last_valid_seal)
    _check_pins(report, pins, seen_at_pins, height)
    report.head_hash, report.head_height = previous_hash, height


def _seal_holds(report: VerificationReport, seal: ChainSeal, link_hash: str, keys: dict[str, SigningKey]) -> bool:
    if not seal_is_valid(seal.height, seal.head_hash, seal.key_id, seal.signature, keys):
        report.add(
            "seals",
            f"seal #{seal.height}: its signature does not verify with the signing keys (forged, or signed with "
            f"key {seal.key_id}, which is not configured)",
        )
        return False
    if seal.head_hash != link_hash:
        report.add(
            "seals",
            f"seal #{seal.height} signed head {seal.head_hash[:16]}…, but link #{seal.height} is now "
            f"{link_hash[:16]}…: the chain was rewritten after it was sealed",
        )
        return False
    return True


def _check_seal_coverage(report: VerificationReport, seals: dict[int, ChainSeal], height: int, last: int) -> None:
    beyond = sorted(h for h in seals if h > height)
    if beyond:
        report.add(
            "seals",
            f"{len(beyond)} seal(s) from #{beyond[0]} to #{beyond[-1]} lie beyond the end of the chain at #{height}: "
            "links were removed",
        )
    if height > last:
        report.add(
            "seals",
            f"links #{last + 1} to #{height} are covered by no valid seal: they were appended, or rewritten, "
            "without the signing key",
        )


def _check_pins(report: VerificationReport, pins: list[Pin], seen: dict[int, str], height: int) -> None:
    for pin in pins:
        if pin.height > height:
            report.add(
                "pinned_heads",
                f"pinned head #{pin.height} {pin.head_hash[:16]}… is missing: the chain ends at #{height} "
                "(links were removed)",
            )
        elif pin.height == 0:
            continue
        elif seen.get(pin.height) != pin.head_hash:
            report.add(
                "pinned_heads",
                f"pinned head #{pin.height} was {pin.head_hash[:16]}…, the chain now has "
                f"{(seen.get(pin.height) or '?')[:16]}… there: history was rewritten",
            )


def _check_limits(report: VerificationReport, accounts: Any) -> None:
    for account in accounts:
        counters = [account.posted_debits, account.posted_credits, account.pending_debits, account.pending_credits]
        if min(counters) < 0:
            report.add("limits", f"account {account.code}: a counter is negative {counters}")
        if account.debits_must_not_exceed_credits and (
            account.posted_debits + account.pending_debits > account.posted_credits
        ):
            report.add("limits", f"account {account.code}: debits exceed credits")
        if account.credits_must_not_exceed_debits and (
            account.posted_credits + account.pending_credits > account.posted_debits
        ):
            report.add("limits", f"account {account.code}: credits exceed debits")
