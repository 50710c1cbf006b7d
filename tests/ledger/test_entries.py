"""entry_post: what it writes, and every refusal leaving no trace."""

from __future__ import annotations

import pytest

from ledger import selectors, services
from ledger.errors import LedgerErrorCode
from ledger.hashing import chain_hash, entry_body_digest
from ledger.models import Account, Direction, JournalEntry, Posting
from ledger.sealing import seal_pending
from tests.refusals import refused
from tests.snapshots import ledger_snapshot

# Every test runs on both posting paths (see the fixture).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("posting_path")]


def test_post_writes_entry_postings_and_balances(make_account, user):
    # given
    cash, revenue = make_account(), make_account()
    # when
    entry = services.entry_post(
        actor=user,
        idempotency_key="sale-1",
        lines=[(cash, "debit", 1_500), (revenue, "credit", 1_500)],
        memo="sale",
        metadata={"order": "A-1"},
    )
    # then: written with its body digest; it joins the chain when sealed (at the next position, here 1)
    assert entry.body_digest == entry_body_digest(entry, Posting.objects.filter(entry=entry))
    assert entry.hash is None
    assert seal_pending() == 1
    assert entry.link is not None
    assert entry.link.position == 1
    assert entry.actor_id == user.pk
    assert entry.metadata == {"order": "A-1"}
    postings = {p.account_id: p for p in Posting.objects.filter(entry=entry)}
    assert postings[cash.pk].direction == Direction.DEBIT
    assert postings[cash.pk].balance_after == -1_500
    assert postings[revenue.pk].balance_after == 1_500
    assert postings[cash.pk].account_version == 1
    cash.refresh_from_db()
    assert (cash.posted_debits, cash.posted_credits, cash.version) == (1_500, 0, 1)
    assert selectors.balance(revenue) == 1_500


def test_the_stored_digest_is_the_canonical_document_of_the_entry_whatever_it_holds(make_account, user):
    # given: awkward text, nested metadata, an explicit effective time in another zone, a reversal
    import datetime as dt
    import hashlib
    import json
    from zoneinfo import ZoneInfo

    a, b, c = make_account(), make_account(), make_account()
    effective = dt.datetime(2026, 3, 1, 8, 0, 0, 7, tzinfo=ZoneInfo("Asia/Shanghai"))
    # when
    entry = services.entry_post(
        actor=user,
        idempotency_key='key "quoted" \\ 算力券 ✓',
        lines=[(a, "debit", 300), (b, "credit", 200), (c, "credit", 100)],
        memo='line one\nline "two" \\ 中文 😀 \u0001',
        metadata={"z": [1, "二", None, True, {"k": -(2**62)}], "a": {"nested": "值", "": False}},
        effective_at=effective,
    )
    reversal = services.entry_reverse(entry, actor=None, idempotency_key="undo")
    hold = services.hold_create(
        actor=None,
        idempotency_key="reserve",
        debit_account=c,
        credit_account=a,
        amount=90,
        expires_at=effective + dt.timedelta(days=3650),
    )
    hold_posting = services.hold_post(hold, amount=60)  # partial: the rest of the hold is released with it
    # then: every stored digest is SHA-256 of the same canonical JSON document the auditor's tools recompute
    for posted in (entry, reversal, hold_posting):
        stored = JournalEntry.objects.get(pk=posted.pk)
        postings = list(Posting.objects.filter(entry=stored))
        document = {
            "idempotency_key": stored.idempotency_key,
            "request_fingerprint": stored.request_fingerprint,
            "currency": stored.currency,
            "effective_at": stored.effective_at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
            "recorded_at": stored.recorded_at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
            "memo": stored.memo,
            "metadata": stored.metadata,
            "actor": stored.actor_id,
            "reverses": stored.reverses_id,
            "postings": sorted(
                [
                    p.account_id,
                    p.direction,
                    p.amount,
                    p.account_version,
                    p.balance_after,
                    p.recorded_at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
                ]
                for p in postings
            ),
        }
        canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
        assert stored.body_digest == posted.body_digest == hashlib.sha256(canonical).hexdigest()
        assert stored.body_digest == entry_body_digest(stored, postings)
    assert JournalEntry.objects.get(pk=entry.pk).effective_at == effective


def test_entries_form_a_hash_chain(make_account):
    # given
    a, b = make_account(), make_account()
    # when
    first = services.entry_post(actor=None, idempotency_key="k1", lines=[(a, "debit", 1), (b, "credit", 1)])
    second = services.entry_post(actor=None, idempotency_key="k2", lines=[(b, "debit", 1), (a, "credit", 1)])
    # then: nothing is chained before the seal; the seal links them in commit (id) order at positions 1, 2
    assert (first.hash, second.hash, selectors.chain_head().height) == (None, None, 0)
    assert seal_pending() == 2
    assert first.prev_hash == "0" * 64
    assert second.prev_hash == first.hash
    assert second.pk > first.pk
    assert [first.link.position, second.link.position] == [1, 2]  # type: ignore[union-attr]
    assert first.hash == chain_hash("0" * 64, 1, first.body_digest)
    assert selectors.chain_head().head_hash == second.hash
    assert selectors.chain_head().height == 2
    assert seal_pending() == 0  # sealing again finds nothing


def test_an_entry_committed_after_a_seal_is_sealed_at_the_next_position(make_account):
    # given: one entry sealed
    a, b = make_account(), make_account()
    first = services.entry_post(actor=None, idempotency_key="k1", lines=[(a, "debit", 1), (b, "credit", 1)])
    seal_pending()
    # when
    second = services.entry_post(actor=None, idempotency_key="k2", lines=[(b, "debit", 1), (a, "credit", 1)])
    seal_pending()
    # then
    assert second.link is not None
    assert second.link.position == 2
    assert second.prev_hash == first.hash


def test_multi_line_entry(make_account):
    # given
    a, b, c = make_account(), make_account(), make_account()
    # when
    services.entry_post(
        actor=None, idempotency_key="split", lines=[(a, "debit", 100), (b, "credit", 60), (c, "credit", 40)]
    )
    # then
    assert [selectors.balance(x) for x in (a, b, c)] == [-100, 60, 40]


def test_limit_allows_spending_down_to_zero(funded, make_account):
    # given
    _, wallet = funded(1_000)
    shop = make_account()
    # when
    services.entry_post(actor=None, idempotency_key="spend", lines=[(wallet, "debit", 1_000), (shop, "credit", 1_000)])
    # then
    assert selectors.balance(wallet) == 0


def test_credit_limit_flag(make_account):
    # given: a liability that may never be credited beyond what was debited to it
    capped = make_account(credits_must_not_exceed_debits=True)
    other = make_account()
    services.entry_post(actor=None, idempotency_key="in", lines=[(capped, "debit", 50), (other, "credit", 50)])
    # when / then
    with refused(LedgerErrorCode.LIMIT_EXCEEDED):
        services.entry_post(actor=None, idempotency_key="out", lines=[(other, "debit", 51), (capped, "credit", 51)])


REFUSALS = [
    pytest.param(
        lambda w, s: [(w, "debit", 10_001), (s, "credit", 10_001)], LedgerErrorCode.LIMIT_EXCEEDED, id="limit"
    ),
    pytest.param(lambda w, s: [(w, "debit", 10), (s, "credit", 9)], LedgerErrorCode.UNBALANCED_ENTRY, id="unbalanced"),
    pytest.param(lambda w, s: [(w, "debit", 0), (s, "credit", 0)], LedgerErrorCode.INVALID_AMOUNT, id="zero"),
    pytest.param(lambda w, s: [(w, "debit", -5), (s, "credit", -5)], LedgerErrorCode.INVALID_AMOUNT, id="negative"),
    pytest.param(lambda w, s: [(w, "debit", 1.5), (s, "credit", 1.5)], LedgerErrorCode.INVALID_AMOUNT, id="float"),
    pytest.param(lambda w, s: [(w, "debit", 5)], LedgerErrorCode.INVALID_ENTRY, id="one-line"),
    pytest.param(lambda w, s: [(w, "debit", 5), (w, "credit", 5)], LedgerErrorCode.INVALID_ENTRY, id="same-account"),
    pytest.param(lambda w, s: [(w, "sideways", 5), (s, "credit", 5)], LedgerErrorCode.INVALID_ENTRY, id="direction"),
    pytest.param(
        lambda w, s: [(w, "debit", 5), (999_999, "credit", 5)], LedgerErrorCode.INVALID_ENTRY, id="unknown-account"
    ),
    pytest.param(
        lambda w, s: [(w, "debit", 10**15 + 1), (s, "credit", 10**15 + 1)],
        LedgerErrorCode.INVALID_AMOUNT,
        id="above-max",
    ),
]


@pytest.mark.parametrize(("make_lines", "error"), REFUSALS)
def test_refusals_leave_no_trace(funded, make_account, make_lines, error):
    # given
    _, wallet = funded(10_000)
    shop = make_account()
    before = ledger_snapshot()
    # when
    with refused(error) as raised:
        services.entry_post(actor=None, idempotency_key="bad", lines=make_lines(wallet, shop))
    # then
    assert ledger_snapshot() == before
    assert raised.value.code == error
    assert raised.value.http_status in {409, 422}


def test_currency_mismatch_is_refused_without_trace(make_account):
    # given
    cny, usd = make_account(), make_account(currency="USD")
    before = ledger_snapshot()
    # when
    with refused(LedgerErrorCode.CURRENCY_MISMATCH):
        services.entry_post(actor=None, idempotency_key="fx", lines=[(cny, "debit", 1), (usd, "credit", 1)])
    # then
    assert ledger_snapshot() == before


def test_float_metadata_is_refused(make_account):
    # given
    a, b = make_account(), make_account()
    # when / then
    with refused(LedgerErrorCode.INVALID_ENTRY):
        services.entry_post(
            actor=None, idempotency_key="m", lines=[(a, "debit", 1), (b, "credit", 1)], metadata={"rate": 0.1}
        )
    assert not JournalEntry.objects.exists()


def test_naive_effective_at_is_refused(make_account):
    import datetime as dt

    a, b = make_account(), make_account()
    with refused(LedgerErrorCode.INVALID_ENTRY):
        services.entry_post(
            actor=None,
            idempotency_key="naive",
            lines=[(a, "debit", 1), (b, "credit", 1)],
            effective_at=dt.datetime(2026, 1, 1),  # noqa: DTZ001
        )


def test_account_with_both_limit_flags_is_refused():
    with refused(LedgerErrorCode.INVALID_ENTRY):
        services.account_create(
            code="both", name="x", debits_must_not_exceed_credits=True, credits_must_not_exceed_debits=True
        )
    assert not Account.objects.filter(code="both").exists()


def test_account_owner_is_a_generic_reference(user):
    # given
    account = services.account_create(code="owned", name="owned", owner=user)
    # then
    assert account.owner == user
    assert list(selectors.accounts_for_owner(user)) == [account]


def test_account_get_or_create_returns_the_existing_account():
    # given
    first, created = services.account_get_or_create(code="program-1:budget", name="budget")
    # when
    again, created_again = services.account_get_or_create(code="program-1:budget", name="other name")
    # then
    assert (created, created_again) == (True, False)
    assert again.pk == first.pk
    assert again.name == "budget"


def test_a_lazy_translation_is_accepted_as_memo(make_account):
    from django.utils.translation import gettext_lazy

    a, b = make_account(), make_account()
    entry = services.entry_post(
        actor=None, idempotency_key="lazy", lines=[(a, "debit", 1), (b, "credit", 1)], memo=gettext_lazy("Sale")
    )
    assert isinstance(entry.memo, str)


def test_a_large_entry_posts_and_verifies(make_account):
    # given: one budget paying 300 vouchers at once (on both write paths, like every test here)
    from ledger.verification import verify_ledger

    budget = make_account()
    vouchers = [make_account() for _ in range(300)]
    # when
    services.entry_post(
        actor=None,
        idempotency_key="issue-300",
        lines=[(budget, "debit", 300 * 50)] + [(voucher, "credit", 50) for voucher in vouchers],
    )
    # then
    assert selectors.balance(budget) == -15_000
    assert selectors.balance(vouchers[-1]) == 50
    assert verify_ledger().ok


def test_the_sealer_works_from_its_queue_and_a_full_seal_finds_any_entry_missing_from_it(make_account):
    # given: two entries, each queued for the sealer with its insert; one queue row lost
    from ledger.models import UnsealedEntry

    a, b = make_account(), make_account()
    first = services.entry_post(actor=None, idempotency_key="q1", lines=[(a, "debit", 1), (b, "credit", 1)])
    second = services.entry_post(actor=None, idempotency_key="q2", lines=[(b, "debit", 1), (a, "credit", 1)])
    assert set(UnsealedEntry.objects.values_list("entry_id", flat=True)) == {first.pk, second.pk}
    UnsealedEntry.objects.filter(entry_id=first.pk).delete()
    # when / then: the frequent seal reads the queue only; the full one anti-joins the journal too
    assert seal_pending() == 1
    assert UnsealedEntry.objects.count() == 0
    assert first.link is None
    assert seal_pending(full=True) == 1
    assert [second.link.position, first.link.position] == [1, 2]  # type: ignore[union-attr]


def test_unsealed_count_is_the_sealers_backlog(make_account):
    a, b = make_account(), make_account()
    services.entry_post(actor=None, idempotency_key="u1", lines=[(a, "debit", 1), (b, "credit", 1)])
    assert selectors.unsealed_count() == 1
    seal_pending()
    assert selectors.unsealed_count() == 0


@pytest.fixture
def refusal_cases(funded, make_account):
    """Requests each refused for one reason, with the exact message and details both posting paths must give."""
    source, wallet = funded(100)
    shop = make_account()
    capped = make_account(credits_must_not_exceed_debits=True)
    dollars = make_account(currency="USD")
    services.entry_post(actor=None, idempotency_key="taken", lines=[(source, "debit", 1), (shop, "credit", 1)])
    return {
        "debits-limit": (
            {"lines": [(wallet, "debit", 101), (shop, "credit", 101)]},
            LedgerErrorCode.LIMIT_EXCEEDED,
            f"Account {wallet.code}: debits would exceed credits.",
            {"account": wallet.code},
        ),
        "credits-limit": (
            {"lines": [(shop, "debit", 1), (capped, "credit", 1)]},
            LedgerErrorCode.LIMIT_EXCEEDED,
            f"Account {capped.code}: credits would exceed debits.",
            {"account": capped.code},
        ),
        "currency": (
            {"lines": [(dollars, "debit", 1), (shop, "credit", 1)]},
            LedgerErrorCode.CURRENCY_MISMATCH,
            f"Account {dollars.code} is in USD, the request in CNY.",
            {"account": dollars.code},
        ),
        "unknown-accounts": (
            {"lines": [(999_998, "debit", 2), (shop, "credit", 1), (999_999, "credit", 1)]},
            LedgerErrorCode.INVALID_ENTRY,
            "Unknown account(s): [999998, 999999].",
            {},
        ),
        "unknown-before-currency": (
            {"lines": [(dollars, "debit", 1), (999_999, "credit", 1)]},
            LedgerErrorCode.INVALID_ENTRY,
            "Unknown account(s): [999999].",
            {},
        ),
        "conflict": (
            {"lines": [(source, "debit", 2), (shop, "credit", 2)], "idempotency_key": "taken"},
            LedgerErrorCode.IDEMPOTENCY_CONFLICT,
            "Idempotency key 'taken' was already used for a different request.",
            {"idempotency_key": "taken"},
        ),
        "conflict-before-limit": (
            {"lines": [(wallet, "debit", 101), (shop, "credit", 101)], "idempotency_key": "taken"},
            LedgerErrorCode.IDEMPOTENCY_CONFLICT,
            "Idempotency key 'taken' was already used for a different request.",
            {"idempotency_key": "taken"},
        ),
    }


@pytest.mark.parametrize(
    "case",
    [
        "debits-limit",
        "credits-limit",
        "currency",
        "unknown-accounts",
        "unknown-before-currency",
        "conflict",
        "conflict-before-limit",
    ],
)
def test_each_refusal_is_worded_the_same_on_both_paths(refusal_cases, case):
    # given
    request, error, message, details = refusal_cases[case]
    before = ledger_snapshot()
    # when
    with refused(error) as refusal:
        services.entry_post(actor=None, idempotency_key=request.get("idempotency_key", "fresh"), lines=request["lines"])
    # then: the same words, details and (first) reason, and nothing written
    assert str(refusal.value) == message
    assert refusal.value.details == details
    assert ledger_snapshot() == before
