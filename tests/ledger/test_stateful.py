"""Hypothesis state machine: the ledger makes the same accept/reject decisions as a tiny in-memory model.

After every step the database must match the model exactly (so a refused operation left no trace) and money
is conserved (all posted balances sum to zero); at the end ``verify_ledger`` must pass.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from ledger import services
from ledger.errors import LedgerErrorCode
from ledger.models import Account, Hold, JournalEntry
from ledger.verification import verify_ledger
from tests.refusals import refused

# source: no limit; two wallets that may not go below zero; a capped account that may not be credited
# beyond its debits.
ACCOUNT_FLAGS = [
    {},
    {"debits_must_not_exceed_credits": True},
    {"debits_must_not_exceed_credits": True},
    {"credits_must_not_exceed_debits": True},
]
accounts_idx = st.integers(0, len(ACCOUNT_FLAGS) - 1)
amounts = st.integers(-2, 3_000)


@dataclass
class ModelAccount:
    debits_limited: bool
    credits_limited: bool
    posted_debits: int = 0
    posted_credits: int = 0
    pending_debits: int = 0
    pending_credits: int = 0

    def breaks_limit(self) -> bool:
        return (self.debits_limited and self.posted_debits + self.pending_debits > self.posted_credits) or (
            self.credits_limited and self.posted_credits + self.pending_credits > self.posted_debits
        )

    def counters(self) -> tuple[int, int, int, int]:
        return (self.posted_debits, self.posted_credits, self.pending_debits, self.pending_credits)


@dataclass
class ModelHold:
    pk: int
    debit: int
    credit: int
    amount: int
    open: bool = True


@dataclass
class Model:
    accounts: list[ModelAccount]
    entry_requests: dict[str, tuple] = field(default_factory=dict)
    entries: list[tuple[int, int, int, int]] = field(default_factory=list)  # (pk, debit, credit, amount)
    reversed_entries: set[int] = field(default_factory=set)
    hold_requests: dict[str, tuple] = field(default_factory=dict)
    holds: list[ModelHold] = field(default_factory=list)

    def try_move(self, changes: list[tuple[int, str, int]]) -> bool:
        """Apply counter changes if no limit breaks; all or nothing."""
        before = [account.counters() for account in self.accounts]
        for index, counter, delta in changes:
            setattr(self.accounts[index], counter, getattr(self.accounts[index], counter) + delta)
        if any(account.breaks_limit() for account in self.accounts):
            for account, counters in zip(self.accounts, before, strict=True):
                (account.posted_debits, account.posted_credits, account.pending_debits, account.pending_credits) = (
                    counters
                )
            return False
        return True


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        # Each example runs in a savepoint that teardown rolls back: a fresh, empty ledger per example.
        self.atomic = transaction.atomic()
        self.atomic.__enter__()
        self.expiry = timezone.now() + dt.timedelta(days=1)
        self.db_accounts = [
            services.account_create(code=f"sm-{n}", name=f"sm {n}", **flags) for n, flags in enumerate(ACCOUNT_FLAGS)
        ]
        self.model = Model(
            accounts=[
                ModelAccount(
                    bool(flags.get("debits_must_not_exceed_credits")), bool(flags.get("credits_must_not_exceed_debits"))
                )
                for flags in ACCOUNT_FLAGS
            ]
        )

    def teardown(self) -> None:
        try:
            assert verify_ledger().ok
        finally:
            transaction.set_rollback(True)
            self.atomic.__exit__(None, None, None)

    def expect(self, expected_error: LedgerErrorCode | None, call):
        if expected_error is None:
            return call()
        with refused(expected_error):
            call()
        return None

    @rule(debit=accounts_idx, credit=accounts_idx, amount=amounts, key=st.integers(0, 5))
    def post(self, debit: int, credit: int, amount: int, key: int) -> None:
        key_text, request = f"e{key}", (debit, credit, amount)
        expected: LedgerErrorCode | None
        if amount <= 0:
            expected = LedgerErrorCode.INVALID_AMOUNT
        elif debit == credit:
            expected = LedgerErrorCode.INVALID_ENTRY
        elif key_text in self.model.entry_requests:
            expected = None if self.model.entry_requests[key_text] == request else LedgerErrorCode.IDEMPOTENCY_CONFLICT
        elif not self.model.try_move([(debit, "posted_debits", amount), (credit, "posted_credits", amount)]):
            expected = LedgerErrorCode.LIMIT_EXCEEDED
        else:
            expected = None
            self.model.entry_requests[key_text] = request
            self.model.entries.append((-1, debit, credit, amount))
        entry = self.expect(
            expected,
            lambda: services.entry_post(
                actor=None,
                idempotency_key=key_text,
                lines=[(self.db_accounts[debit], "debit", amount), (self.db_accounts[credit], "credit", amount)],
            ),
        )
        if entry is not None and self.model.entries and self.model.entries[-1][0] == -1:
            self.model.entries[-1] = (entry.pk, debit, credit, amount)

    @rule(data=st.data(), attempt=st.integers(0, 1))
    def reverse(self, data: st.DataObject, attempt: int) -> None:
        if not self.model.entries:
            return
        pk, debit, credit, amount = data.draw(st.sampled_from(self.model.entries))
        key = f"rev-{pk}-{attempt}"
        expected: LedgerErrorCode | None
        if key in self.model.entry_requests:
            expected = None
        elif pk in self.model.reversed_entries:
            expected = LedgerErrorCode.ALREADY_REVERSED
        elif not self.model.try_move([(credit, "posted_debits", amount), (debit, "posted_credits", amount)]):
            expected = LedgerErrorCode.LIMIT_EXCEEDED
        else:
            expected = None
            self.model.entry_requests[key] = ("reverse", pk)
            self.model.reversed_entries.add(pk)
        self.expect(
            expected,
            lambda: services.entry_reverse(JournalEntry.objects.get(pk=pk), actor=None, idempotency_key=key),
        )

    @rule(debit=accounts_idx, credit=accounts_idx, amount=amounts, key=st.integers(0, 4))
    def hold(self, debit: int, credit: int, amount: int, key: int) -> None:
        key_text, request = f"h{key}", (debit, credit, amount)
        expected: LedgerErrorCode | None
        if amount <= 0:
            expected = LedgerErrorCode.INVALID_AMOUNT
        elif debit == credit:
            expected = LedgerErrorCode.INVALID_ENTRY
        elif key_text in self.model.hold_requests:
            expected = None if self.model.hold_requests[key_text] == request else LedgerErrorCode.IDEMPOTENCY_CONFLICT
        elif not self.model.try_move([(debit, "pending_debits", amount), (credit, "pending_credits", amount)]):
            expected = LedgerErrorCode.LIMIT_EXCEEDED
        else:
            expected = None
            self.model.hold_requests[key_text] = request
        hold = self.expect(
            expected,
            lambda: services.hold_create(
                actor=None,
                idempotency_key=key_text,
                debit_account=self.db_accounts[debit],
                credit_account=self.db_accounts[credit],
                amount=amount,
                expires_at=self.expiry,
            ),
        )
        if hold is not None and all(h.pk != hold.pk for h in self.model.holds):
            self.model.holds.append(ModelHold(hold.pk, debit, credit, amount))

    @rule(data=st.data(), fraction=st.sampled_from([None, 0, 1, 2, 3]), void=st.booleans())
    def resolve(self, data: st.DataObject, fraction: int | None, void: bool) -> None:
        if not self.model.holds:
            return
        hold = data.draw(st.sampled_from(self.model.holds))
        amount = None if fraction is None else hold.amount * fraction // 2  # 0, half, all, too much
        expected: LedgerErrorCode | None = None
        if not hold.open:
            expected = LedgerErrorCode.HOLD_ALREADY_RESOLVED
        elif not void and amount is not None and not 0 < amount <= hold.amount:
            expected = LedgerErrorCode.INVALID_AMOUNT
        else:
            posted = 0 if void else (hold.amount if amount is None else amount)
            changes = [
                (hold.debit, "pending_debits", -hold.amount),
                (hold.credit, "pending_credits", -hold.amount),
                (hold.debit, "posted_debits", posted),
                (hold.credit, "posted_credits", posted),
            ]
            assert self.model.try_move(changes), "posting or releasing a hold never breaks a limit"
            hold.open = False
        db_hold = Hold.objects.get(pk=hold.pk)
        if void:
            self.expect(expected, lambda: services.hold_void(db_hold))
        else:
            self.expect(expected, lambda: services.hold_post(db_hold, amount=amount))

    @invariant()
    def database_matches_model(self) -> None:
        rows = {a.pk: a for a in Account.objects.filter(pk__in=[a.pk for a in self.db_accounts])}
        for db_account, model_account in zip(self.db_accounts, self.model.accounts, strict=True):
            row = rows[db_account.pk]
            assert (row.posted_debits, row.posted_credits, row.pending_debits, row.pending_credits) == (
                model_account.counters()
            )

    @invariant()
    def money_is_conserved(self) -> None:
        assert sum(a.posted_credits - a.posted_debits for a in self.model.accounts) == 0


@pytest.mark.django_db
def test_ledger_behaves_like_the_model(posting_path):
    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=40,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
