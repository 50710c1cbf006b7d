"""Ledger writes: accounts, journal entries, holds, reversals, hold expiry.

Every operation on money (``entry_post``, ``entry_reverse``, ``hold_create``, ``hold_post``, ``hold_void``,
``hold_expire``) is a ``service_write`` (``core.transactions``): its own durable transaction with retries when
called alone, a savepoint inside the caller's transaction otherwise (``entry_post`` on PostgreSQL is one database
call: alone, an autocommit statement; inside a transaction, without a savepoint). Each one validates the request
in memory, locks the touched balance rows in primary-key order, checks idempotency and limits, and only then
writes, so a refusal (a ``LedgerError``) leaves no trace. ``holds_expire_due`` runs one ``hold_expire`` per hold.

The account writes (``account_create``, ``accounts_create_many``, ``account_get_or_create``) are single inserts
made inside the domain's own service write (a budget opening, an issuance); the ledger is generic, so its
writes take an ``actor`` only where the journal records one.

Lock order, the same everywhere: hold row → balance rows (ascending pk). Posting takes no global lock: the
hash chain is appended afterwards by the sealer (``ledger.sealing``), which locks only the chain-head row.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from core.transactions import can_run_alone, run_alone_with_retries, service_write
from ledger import errors
from ledger.errors import LedgerError, LedgerErrorCode
from ledger.hashing import iso_utc
from ledger.journal_store import (
    BALANCE_FIELDS,
    append_entry,
    fingerprint_for_key,
    lock_accounts,
    post_in_database,
    posts_in_database,
)
from ledger.models import (
    DEFAULT_CURRENCY,
    Account,
    Direction,
    Hold,
    HoldStatus,
    JournalEntry,
    Posting,
)
from ledger.sealing import request_seal
from ledger.validation import (
    EntryDraft,
    Line,
    LineInput,
    account_pk,
    actor_pk,
    check_amount,
    check_aware,
    check_idempotency_key,
    checked_memo,
    checked_metadata,
    draft_entry,
    normalise_lines,
    request_fingerprint,
)

Keyed = TypeVar("Keyed", JournalEntry, Hold)

# --- Accounts ----------------------------------------------------------------------------------------------


def _account_build(
    *,
    code: str,
    name: str,
    currency: str,
    owner_type: ContentType | None,
    owner_id: Any,
    debits_must_not_exceed_credits: bool,
    credits_must_not_exceed_debits: bool,
) -> Account:
    if debits_must_not_exceed_credits and credits_must_not_exceed_debits:
        raise errors.invalid_entry("An account can carry at most one limit flag.")
    return Account(
        code=code,
        name=name,
        currency=currency,
        debits_must_not_exceed_credits=debits_must_not_exceed_credits,
        credits_must_not_exceed_debits=credits_must_not_exceed_debits,
        owner_content_type=owner_type,
        owner_object_id=str(owner_id) if owner_type is not None else "",
    )


def account_create(
    *,
    code: str,
    name: str,
    currency: str = DEFAULT_CURRENCY,
    owner: models.Model | None = None,
    debits_must_not_exceed_credits: bool = False,
    credits_must_not_exceed_debits: bool = False,
) -> Account:
    account = _account_build(
        code=code,
        name=name,
        currency=currency,
        owner_type=ContentType.objects.get_for_model(owner) if owner is not None else None,
        owner_id=owner.pk if owner is not None else None,
        debits_must_not_exceed_credits=debits_must_not_exceed_credits,
        credits_must_not_exceed_debits=credits_must_not_exceed_debits,
    )
    account.save(force_insert=True)
    return account


def accounts_create_many(
    *,
    rows: Sequence[tuple[str, str, Any]],
    owner_model: type[models.Model] | None = None,
    currency: str = DEFAULT_CURRENCY,
    debits_must_not_exceed_credits: bool = False,
    credits_must_not_exceed_debits: bool = False,
) -> list[Account]:
    """Create many accounts with the same flags in one INSERT; ``rows`` are ``(code, name, owner_id)``.

    For bulk work (thousands of voucher accounts): the owner is named by id, so no owner row is fetched.
    """
    owner_type = ContentType.objects.get_for_model(owner_model) if owner_model is not None else None
    accounts = [
        _account_build(
            code=code,
            name=name,
            currency=currency,
            owner_type=owner_type,
            owner_id=owner_id,
            debits_must_not_exceed_credits=debits_must_not_exceed_credits,
            credits_must_not_exceed_debits=credits_must_not_exceed_debits,
        )
        for code, name, owner_id in rows
    ]
    return Account.objects.bulk_create(accounts, batch_size=1000)


def account_get_or_create(
    *,
    code: str,
    name: str,
    currency: str = DEFAULT_CURRENCY,
    owner: models.Model | None = None,
    debits_must_not_exceed_credits: bool = False,
    credits_must_not_exceed_debits: bool = False,
) -> tuple[Account, bool]:
    """The account with this code, created if missing; safe when two callers race (savepoint + retry read)."""
    existing = Account.objects.filter(code=code).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            return (
                account_create(
                    code=code,
                    name=name,
                    currency=currency,
                    owner=owner,
                    debits_must_not_exceed_credits=debits_must_not_exceed_credits,
                    credits_must_not_exceed_debits=credits_must_not_exceed_debits,
                ),
                True,
            )
    except IntegrityError:
        return Account.objects.get(code=code), False


# --- Journal entries ---------------------------------------------------------------------------------------


def entry_post(
    *,
    actor: Any,
    idempotency_key: str,
    lines: Sequence[LineInput],
    memo: str = "",
    metadata: dict[str, Any] | None = None,
    effective_at: datetime | None = None,
    currency: str = DEFAULT_CURRENCY,
) -> JournalEntry:
    """Post a balanced entry. Replays the original entry for a repeated key with the same request.

    A service write: its own durable transaction when alone, part of the caller's transaction otherwise. On
    PostgreSQL it is one call of ``ledger_post_entry``: alone, a single autocommit statement that is its own
    transaction (``core.transactions.run_alone_with_retries``); inside the caller's transaction, no savepoint
    around it: the function refuses by returning an outcome, never by a database error, so a refusal (a
    ``LedgerError``) leaves the caller's transaction usable. Two consequences for callers: an unexpected database
    error in the posting (a lock or statement timeout, say) aborts the caller's transaction, as any failed
    statement does; and the balance rows a refused posting locked stay locked until the caller's transaction ends
    (wrap the call in ``atomic()`` to get a savepoint if that matters).
    """
    draft = draft_entry(
        idempotency_key=idempotency_key,
        lines=normalise_lines(lines),
        currency=currency,
        memo=memo,
        metadata=metadata,
        actor_id=actor_pk(actor),
        effective_at=effective_at,
    )
    if posts_in_database():
        if can_run_alone():
            return run_alone_with_retries(post_draft, draft)
        if transaction.get_connection().in_atomic_block:
            # Joins the caller's transaction without a savepoint: the function refuses by returning an outcome,
            # never by a database error, so a refusal leaves nothing to roll back to and the caller carries on.
            return post_draft(draft)
    return _post_in_transaction(draft)


@service_write
def _post_in_transaction(draft: EntryDraft) -> JournalEntry:
    return post_draft(draft)


@service_write
def entry_reverse(
    entry: JournalEntry,
    *,
    actor: Any,
    idempotency_key: str,
    memo: str = "",
    metadata: dict[str, Any] | None = None,
    effective_at: datetime | None = None,
) -> JournalEntry:
    """Post the mirror image of ``entry``. An entry can be reversed once; limits apply to the reversal."""
    postings = list(Posting.objects.filter(entry_id=entry.pk).order_by("account_id"))
    mirrored = [
        Line(p.account_id, Direction.CREDIT if p.direction == Direction.DEBIT else Direction.DEBIT, p.amount)
        for p in postings
    ]
    draft = draft_entry(
        idempotency_key=idempotency_key,
        lines=mirrored,
        currency=entry.currency,
        memo=memo or f"Reversal of entry #{entry.pk}",
        metadata=metadata,
        actor_id=actor_pk(actor),
        effective_at=effective_at,
        reverses_id=entry.pk,
    )
    return post_draft(draft)


# --- Holds -------------------------------------------------------------------------------------------------


@service_write
def hold_create(
    *,
    actor: Any,
    idempotency_key: str,
    debit_account: Account | int,
    credit_account: Account | int,
    amount: int,
    expires_at: datetime | None,
    memo: str = "",
    metadata: dict[str, Any] | None = None,
    currency: str = DEFAULT_CURRENCY,
    now: datetime | None = None,
) -> Hold:
    """Reserve ``amount``: pending debits on one account, pending credits on the other, until expiry.

    ``expires_at=None`` reserves until the hold is posted or voided: nothing releases it by time (a domain whose
    reservation lasts as long as a record of its own stays open, such as a claim under review).
    """
    now = now or timezone.now()
    check_idempotency_key(idempotency_key)
    debit_id, credit_id = account_pk(debit_account), account_pk(credit_account)
    check_amount(amount)
    if debit_id == credit_id:
        raise errors.invalid_entry("A hold needs two different accounts.")
    if expires_at is not None:
        check_aware(expires_at, "A hold's expiry")
        if expires_at <= now:
            raise errors.invalid_entry("A hold's expiry must be in the future (or None: no expiry).")
    metadata = checked_metadata(metadata)
    memo = checked_memo(memo)
    fingerprint = request_fingerprint(
        "hold",
        debit=debit_id,
        credit=credit_id,
        amount=amount,
        currency=currency,
        expires_at=iso_utc(expires_at) if expires_at is not None else None,
        memo=memo,
        metadata=metadata,
        actor=actor_pk(actor),
    )
    accounts = _lock_accounts([debit_id, credit_id])
    existing = _replay(Hold, idempotency_key, fingerprint)
    if existing is not None:
        return existing
    _check_currency(accounts.values(), currency)
    debit, credit = accounts[debit_id], accounts[credit_id]
    debit.pending_debits += amount
    credit.pending_credits += amount
    _bump_versions_and_check_limits([debit, credit])
    hold = Hold(
        idempotency_key=idempotency_key,
        request_fingerprint=fingerprint,
        debit_account_id=debit_id,
        credit_account_id=credit_id,
        amount=amount,
        currency=currency,
        created_at=now,
        expires_at=expires_at,
        memo=memo,
        metadata=metadata,
        actor_id=actor_pk(actor),
        debit_version_created=debit.version,
        credit_version_created=credit.version,
    )
    replayed = _insert_hold_or_replay(hold)
    if replayed is not None:
        return replayed
    Account.objects.bulk_update([debit, credit], BALANCE_FIELDS)
    return hold


@service_write
def hold_post(
    hold: Hold,
    *,
    amount: int | None = None,
    actor: Any = None,
    memo: str = "",
    metadata: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> JournalEntry:
    """Post ``amount`` (default: all) of an open hold; whatever is not posted is released."""
    now = now or timezone.now()
    locked = _lock_open_hold(hold, now)
    amount = locked.amount if amount is None else amount
    check_amount(amount)
    if amount > locked.amount:
        raise LedgerError(
            LedgerErrorCode.INVALID_AMOUNT, f"Cannot post {amount} from a hold of {locked.amount}.", hold=locked.pk
        )
    draft = draft_entry(
        idempotency_key=f"ledger:hold:{locked.pk}:post",
        lines=[
            Line(locked.debit_account_id, Direction.DEBIT, amount),
            Line(locked.credit_account_id, Direction.CREDIT, amount),
        ],
        currency=locked.currency,
        memo=memo or locked.memo,
        metadata=metadata if metadata is not None else locked.metadata,
        actor_id=actor_pk(actor),
        effective_at=None,
    )
    draft.pending_release = {
        locked.debit_account_id: (locked.amount, 0),
        locked.credit_account_id: (0, locked.amount),
    }
    entry = post_draft(draft)
    Hold.objects.filter(pk=locked.pk).update(
        status=HoldStatus.POSTED, posted_amount=amount, resolved_at=now, entry=entry
    )
    return entry


@service_write
def hold_void(hold: Hold, *, actor: Any = None, now: datetime | None = None) -> Hold:
    """Release an open hold in full. An expired hold is left to the expiry task (refused here)."""
    now = now or timezone.now()
    locked = _lock_open_hold(hold, now)
    return _release_hold(locked, HoldStatus.VOIDED, now)


@service_write
def hold_expire(hold_id: int, *, now: datetime | None = None) -> bool:
    """Release one hold if it is still pending and past its expiry. Returns whether it did anything."""
    now = now or timezone.now()
    locked = Hold.objects.select_for_update().filter(pk=hold_id).first()
    if locked is None or locked.status != HoldStatus.PENDING or locked.expires_at is None or locked.expires_at > now:
        return False
    _release_hold(locked, HoldStatus.EXPIRED, now)
    return True


def holds_expire_due(*, now: datetime | None = None, hold_ids: Iterable[int] | None = None) -> int:
    """Expire every due hold (or only those listed), each in its own short transaction. Idempotent."""
    now = now or timezone.now()
    due = Hold.objects.filter(status=HoldStatus.PENDING, expires_at__lte=now)
    if hold_ids is not None:
        due = due.filter(pk__in=list(hold_ids))
    return sum(hold_expire(hold_id, now=now) for hold_id in due.values_list("pk", flat=True))


def _check_currency(accounts: Iterable[Account], currency: str) -> None:
    for account in accounts:
        if account.currency != currency:
            raise errors.currency_mismatch(account.code, account.currency, currency)


def _limit_breach(account: Account) -> str | None:
    """The side ("debits" or "credits") that would exceed the other against the account's limit flag, if any."""
    if account.debits_must_not_exceed_credits and (
        account.posted_debits + account.pending_debits > account.posted_credits
    ):
        return "debits"
    if account.credits_must_not_exceed_debits and (
        account.posted_credits + account.pending_credits > account.posted_debits
    ):
        return "credits"
    return None


def _bump_versions_and_check_limits(accounts: Iterable[Account]) -> None:
    for account in accounts:
        account.version += 1
        breach = _limit_breach(account)
        if breach:
            raise errors.limit_exceeded(account.code, breach)


# --- Internals: locking and writing ------------------------------------------------------------------------


def _lock_accounts(account_ids: Iterable[int]) -> dict[int, Account]:
    ids = set(account_ids)
    accounts = {account.pk: account for account in lock_accounts(ids)}
    missing = ids - accounts.keys()
    if missing:
        raise errors.unknown_accounts(missing)
    return accounts


def _replay(model: type[Keyed], idempotency_key: str, fingerprint: str) -> Keyed | None:
    found = fingerprint_for_key(model._meta.db_table, idempotency_key)
    if found is None:
        return None
    pk, stored_fingerprint = found
    if stored_fingerprint != fingerprint:
        raise errors.idempotency_conflict(idempotency_key)
    return model.objects.get(pk=pk)


def post_draft(draft: EntryDraft) -> JournalEntry:
    """Post a validated entry, or replay the one holding its key; a seal is requested on commit.

    PostgreSQL does the locking, checks and writes in one call of its ``ledger_post_entry`` function; other
    backends run the same steps here, in the same order (``_write_entry``).
    """
    if posts_in_database():
        entry, written = post_in_database(draft)
        if written:
            request_seal()  # after the outermost COMMIT (at once if the call was its own transaction)
        return entry
    return _write_entry(draft, _lock_accounts(line.account_id for line in draft.lines))


def _write_entry(draft: EntryDraft, accounts: dict[int, Account]) -> JournalEntry:
    """The portable path: write an entry whose balance rows are locked (``journal_store.append_entry``).

    The idempotency key is checked once the balance rows are locked: a racing twin of the same request locks
    the same rows, so by then its entry is committed and visible (READ COMMITTED), and the replay happens
    before the limit check (a replay must not be refused because the balance has moved since). A twin on
    other accounts that commits the key between the check and the insert is caught by the unique key (an
    IntegrityError; SQLite's single writer cannot interleave there, and PostgreSQL posts through its function).
    """
    _check_currency(accounts.values(), draft.currency)
    existing = _replay(JournalEntry, draft.idempotency_key, draft.fingerprint)
    if existing is not None:
        return existing
    if draft.reverses_id is not None and JournalEntry.objects.filter(reverses_id=draft.reverses_id).exists():
        raise errors.already_reversed(draft.reverses_id)
    _apply_lines(draft, accounts)
    # Taken after the balance rows are locked, so per account recorded_at never goes backwards.
    now = timezone.now()
    entry = JournalEntry(
        idempotency_key=draft.idempotency_key,
        request_fingerprint=draft.fingerprint,
        currency=draft.currency,
        effective_at=draft.effective_at or now,
        recorded_at=now,
        memo=draft.memo,
        metadata=draft.metadata,
        actor_id=draft.actor_id,
        reverses_id=draft.reverses_id,
    )
    postings = [
        Posting(
            account_id=line.account_id,
            direction=line.direction,
            amount=line.amount,
            account_version=accounts[line.account_id].version,
            balance_after=accounts[line.account_id].posted_balance,
            recorded_at=now,
        )
        for line in draft.lines
    ]
    if append_entry(entry, postings, list(accounts.values())):
        request_seal()  # runs after the outermost COMMIT; dropped on rollback
        return entry
    replayed = _replay(JournalEntry, draft.idempotency_key, draft.fingerprint)
    if replayed is None:  # pragma: no cover - the insert found the key taken, so its entry exists
        raise RuntimeError(f"idempotency key {draft.idempotency_key!r} taken but no entry found")
    return replayed


def _apply_lines(draft: EntryDraft, accounts: dict[int, Account]) -> None:
    for account_id, (pending_debits, pending_credits) in draft.pending_release.items():
        accounts[account_id].pending_debits -= pending_debits
        accounts[account_id].pending_credits -= pending_credits
    for line in draft.lines:
        account = accounts[line.account_id]
        if line.direction == Direction.DEBIT:
            account.posted_debits += line.amount
        else:
            account.posted_credits += line.amount
    _bump_versions_and_check_limits(accounts.values())


def _insert_hold_or_replay(hold: Hold) -> Hold | None:
    """Insert the hold in a savepoint; a racing twin with the same key turns into a replay or a conflict."""
    try:
        with transaction.atomic():
            hold.save(force_insert=True)
    except IntegrityError:
        existing = _replay(Hold, hold.idempotency_key, hold.request_fingerprint)
        if existing is None:
            raise
        return existing
    return None


def _lock_open_hold(hold: Hold, now: datetime) -> Hold:
    locked = Hold.objects.select_for_update().get(pk=hold.pk)
    if locked.status != HoldStatus.PENDING:
        raise LedgerError(
            LedgerErrorCode.HOLD_ALREADY_RESOLVED, f"Hold #{locked.pk} is already {locked.status}.", hold=locked.pk
        )
    if locked.expires_at is not None and locked.expires_at <= now:
        raise LedgerError(
            LedgerErrorCode.HOLD_EXPIRED, f"Hold #{locked.pk} expired at {locked.expires_at:%Y-%m-%d %H:%M:%S}."
        )
    return locked


def _release_hold(locked: Hold, status: HoldStatus, now: datetime) -> Hold:
    accounts = _lock_accounts([locked.debit_account_id, locked.credit_account_id])
    debit, credit = accounts[locked.debit_account_id], accounts[locked.credit_account_id]
    debit.pending_debits -= locked.amount
    credit.pending_credits -= locked.amount
    _bump_versions_and_check_limits([debit, credit])
    Account.objects.bulk_update([debit, credit], BALANCE_FIELDS)
    locked.status = status
    locked.resolved_at = now
    locked.debit_version_released = debit.version
    locked.credit_version_released = credit.version
    locked.save(update_fields=["status", "resolved_at", "debit_version_released", "credit_version_released"])
    return locked
