"""Ledger reads. Balances are read from balance rows (now) or from one indexed posting lookup (as of a time).

Sign convention: balance = credits − debits. ``as_of`` is on the recorded (system) time axis, the one that is
append-only; ``effective_at`` on an entry is business information and does not move history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import OuterRef, Subquery

from ledger.models import Account, ChainHead, Hold, HoldStatus, JournalEntry, Posting, UnsealedEntry, VerificationRun


@dataclass(frozen=True)
class AccountBalance:
    posted: int
    pending_debits: int
    pending_credits: int
    version: int

    @property
    def available(self) -> int:
        """Posted balance less what open holds would take out (credits − debits − pending debits)."""
        return self.posted - self.pending_debits


@dataclass(frozen=True)
class TrialBalanceRow:
    account_id: int
    code: str
    balance: int

    @property
    def debit(self) -> int:
        return -self.balance if self.balance < 0 else 0

    @property
    def credit(self) -> int:
        return self.balance if self.balance > 0 else 0


@dataclass(frozen=True)
class TrialBalance:
    as_of: datetime | None
    rows: list[TrialBalanceRow]

    @property
    def total_debit(self) -> int:
        return sum(row.debit for row in self.rows)

    @property
    def total_credit(self) -> int:
        return sum(row.credit for row in self.rows)

    @property
    def is_balanced(self) -> bool:
        return self.total_debit == self.total_credit


def _account_pk(account: Account | int) -> int:
    return account.pk if isinstance(account, Account) else int(account)


def balance(account: Account | int, as_of: datetime | None = None) -> int:
    """Posted balance (credits − debits) now, or right after the last posting recorded at or before ``as_of``."""
    account_id = _account_pk(account)
    if as_of is None:
        row = Account.objects.filter(pk=account_id).values_list("posted_credits", "posted_debits").get()
        return row[0] - row[1]
    last = (
        Posting.objects.filter(account_id=account_id, recorded_at__lte=as_of)
        .order_by("-recorded_at", "-account_version")
        .values_list("balance_after", flat=True)
        .first()
    )
    return last or 0


def account_balance(account: Account | int) -> AccountBalance:
    row = Account.objects.filter(pk=_account_pk(account)).get()
    return AccountBalance(
        posted=row.posted_balance,
        pending_debits=row.pending_debits,
        pending_credits=row.pending_credits,
        version=row.version,
    )


def trial_balance(as_of: datetime | None = None) -> TrialBalance:
    """Every account's balance; the debit and credit columns must total the same."""
    accounts = Account.objects.order_by("code")
    if as_of is None:
        rows = [TrialBalanceRow(a.pk, a.code, a.posted_balance) for a in accounts]
        return TrialBalance(as_of=None, rows=rows)
    last_balance = (
        Posting.objects.filter(account_id=OuterRef("pk"), recorded_at__lte=as_of)
        .order_by("-recorded_at", "-account_version")
        .values("balance_after")[:1]
    )
    annotated = accounts.annotate(balance_then=Subquery(last_balance, output_field=models.BigIntegerField()))
    rows = [
        TrialBalanceRow(pk, code, value or 0) for pk, code, value in annotated.values_list("pk", "code", "balance_then")
    ]
    return TrialBalance(as_of=as_of, rows=rows)


def account_get_by_code(code: str) -> Account:
    return Account.objects.get(code=code)


def accounts_for_owner(owner: models.Model) -> models.QuerySet[Account]:
    return Account.objects.filter(
        owner_content_type=ContentType.objects.get_for_model(owner), owner_object_id=str(owner.pk)
    )


def entry_get_by_key(idempotency_key: str) -> JournalEntry | None:
    return JournalEntry.objects.filter(idempotency_key=idempotency_key).first()


def postings_for_account(account: Account | int) -> models.QuerySet[Posting]:
    return Posting.objects.filter(account_id=_account_pk(account)).order_by("account_version")


def holds_open(account: Account | int | None = None) -> models.QuerySet[Hold]:
    holds = Hold.objects.filter(status=HoldStatus.PENDING)
    if account is not None:
        pk = _account_pk(account)
        holds = holds.filter(models.Q(debit_account_id=pk) | models.Q(credit_account_id=pk))
    return holds


def chain_head() -> ChainHead:
    """The current head of the sealed chain (height and hash); an empty chain has height 0 and the genesis hash.

    Entries committed since the last seal are not in it yet (``unsealed_count``); ``verify_ledger`` seals first.
    """
    return ChainHead.objects.filter(pk=ChainHead.SINGLETON_ID).first() or ChainHead()


def unsealed_count() -> int:
    """Entries committed but not sealed yet (the sealer's queue): a gauge to monitor; normally near zero."""
    return UnsealedEntry.objects.count()


def verification_runs() -> models.QuerySet[VerificationRun]:
    """Every verification run, newest first (scheduled or asked for)."""
    return VerificationRun.objects.order_by("-started_at", "-pk")
