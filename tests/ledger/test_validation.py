"""Ledger request validation: what a malformed request is refused with, before any lock is taken or row written.

First the checks themselves (``ledger.validation``, which ``make mutation`` holds to this file), then the same
refusals through ``entry_post`` and ``hold_create`` on both posting paths: the same code, and nothing written,
where PostgreSQL would otherwise have answered with a database error (a 500).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.utils import timezone
from django.utils.translation import gettext_lazy

from ledger import services, validation
from ledger.errors import LedgerErrorCode
from ledger.hashing import canonical_json, iso_utc, sha256_hex
from ledger.models import Account, Direction, Hold, JournalEntry
from ledger.money import MAX_FEN
from ledger.validation import Line
from tests.refusals import refused
from tests.snapshots import ledger_snapshot

INVALID_ENTRY = LedgerErrorCode.INVALID_ENTRY
INVALID_AMOUNT = LedgerErrorCode.INVALID_AMOUNT
UNBALANCED = LedgerErrorCode.UNBALANCED_ENTRY
BIGINT_MAX = 2**63 - 1


# --- Amounts ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("amount", [1, 2, MAX_FEN - 1, MAX_FEN])
def test_an_amount_is_a_positive_integer_of_fen_up_to_and_including_max_fen(amount):
    # given / when / then: accepted (returns nothing, raises nothing)
    assert validation.check_amount(amount) is None


@pytest.mark.parametrize(
    ("amount", "message", "details"),
    [
        (0, "Amounts must be positive, got 0.", {"amount": 0}),
        (-1, "Amounts must be positive, got -1.", {"amount": -1}),
        (MAX_FEN + 1, f"Amounts are at most {MAX_FEN} fen, got {MAX_FEN + 1}.", {"amount": MAX_FEN + 1}),
        (1.0, "Amounts are integer fen, got float.", {}),
        (True, "Amounts are integer fen, got bool.", {}),
        ("5", "Amounts are integer fen, got str.", {}),
        (Decimal(5), "Amounts are integer fen, got Decimal.", {}),
        (None, "Amounts are integer fen, got NoneType.", {}),
    ],
)
def test_any_other_amount_is_refused_and_says_why(amount, message, details):
    # given: zero, a negative, one fen above MAX_FEN, or not an int
    # when
    with refused(INVALID_AMOUNT) as raised:
        validation.check_amount(amount)
    error = raised.value
    # then
    assert str(error) == message
    assert error.details == details


# --- Lines -----------------------------------------------------------------------------------------------------


def test_lines_are_normalised_sorted_by_account_and_balanced():
    # given: three lines out of account order, one a saved account, one as a Direction member
    lines = [(9, "credit", 2), (Account(pk=4), Direction.CREDIT, 1), (6, "debit", 3)]
    # when
    normalised = validation.normalise_lines(lines)
    # then
    assert normalised == [
        Line(4, Direction.CREDIT, 1),
        Line(6, Direction.DEBIT, 3),
        Line(9, Direction.CREDIT, 2),
    ]
    assert all(type(line.direction) is Direction for line in normalised)


def test_two_lines_are_enough_and_lists_do_as_well_as_tuples():
    # given / when
    normalised = validation.normalise_lines(([2, "debit", 1], [1, "credit", 1]))
    # then
    assert normalised == [Line(1, Direction.CREDIT, 1), Line(2, Direction.DEBIT, 1)]


@pytest.mark.parametrize(
    ("lines", "message", "details"),
    [
        ([(1, "debit", 10), (2, "credit", 9)], "Debits 10 ≠ credits 9.", {"debits": 10, "credits": 9}),
        ([(1, "debit", 9), (2, "credit", 10)], "Debits 9 ≠ credits 10.", {"debits": 9, "credits": 10}),
        (
            [(1, "debit", 5), (2, "credit", 3), (3, "credit", 3)],
            "Debits 5 ≠ credits 6.",
            {"debits": 5, "credits": 6},
        ),
        ([(1, "credit", 5), (2, "credit", 5)], "Debits 0 ≠ credits 10.", {"debits": 0, "credits": 10}),
    ],
)
def test_an_entry_whose_debits_and_credits_differ_either_way_is_unbalanced(lines, message, details):
    # given: more debits than credits, more credits than debits, or no debit at all
    # when
    with refused(UNBALANCED) as raised:
        validation.normalise_lines(lines)
    error = raised.value
    # then
    assert str(error) == message
    assert error.details == details


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ([], "An entry needs at least two lines."),
        ([(1, "debit", 5)], "An entry needs at least two lines."),
        ([(1, "debit", 5), (1, "credit", 5)], "An account may appear only once in an entry."),
        ([(1, "debit", 5), (Account(pk=1), "credit", 5)], "An account may appear only once in an entry."),
        ([(1, "sideways", 5), (2, "credit", 5)], "Unknown direction 'sideways'."),
        ([(1, "DEBIT", 5), (2, "credit", 5)], "Unknown direction 'DEBIT'."),
        ([(1, 1, 5), (2, "credit", 5)], "Unknown direction 1."),
        ([(1, "debit", 5), (2, "credit")], "A line is (account, direction, amount), got (2, 'credit')."),
        (
            [(1, "debit", 5), (2, "credit", 5, "x")],
            "A line is (account, direction, amount), got (2, 'credit', 5, 'x').",
        ),
        ([(1, "debit", 5), "abc"], "A line is (account, direction, amount), got 'abc'."),
        ([(1, "debit", 5), {"account": 2}], "A line is (account, direction, amount), got {'account': 2}."),
        ((line for line in [(1, "debit", 5), (2, "credit", 5)]), "Lines are a list of (account, direction, amount)"),
        ({1: "debit", 2: "credit"}, "Lines are a list of (account, direction, amount), not dict."),
        ("ab", "Lines are a list of (account, direction, amount), not str."),
        (None, "Lines are a list of (account, direction, amount), not NoneType."),
    ],
)
def test_malformed_lines_are_refused_and_say_why(lines, message):
    # given: too few lines, an account twice, an unknown direction, or a line or list of another shape
    # when
    with refused(INVALID_ENTRY) as raised:
        validation.normalise_lines(lines)
    error = raised.value
    # then
    assert str(error).startswith(message)


@pytest.mark.parametrize(("account", "pk"), [(1, 1), (BIGINT_MAX, BIGINT_MAX), (Account(pk=42), 42)])
def test_an_account_is_a_saved_account_or_a_positive_id_within_bigint(account, pk):
    assert validation.account_pk(account) == pk


@pytest.mark.parametrize("account", [0, -1, BIGINT_MAX + 1, 2**70, True, False, "5", 5.0, None, Account(), Decimal(5)])
def test_anything_else_is_not_an_account(account):
    # given: an id out of range, a bool, a string or float id, an unsaved account
    # when
    with refused(INVALID_ENTRY) as raised:
        validation.account_pk(account)
    error = raised.value
    # then
    assert str(error) == f"An account is a saved Account or a positive account id, got {account!r}."


def test_a_line_with_a_bad_account_is_refused():
    with refused(INVALID_ENTRY) as raised:
        validation.normalise_lines([(1, "debit", 5), ("x", "credit", 5)])
    error = raised.value
    assert str(error) == "An account is a saved Account or a positive account id, got 'x'."


def test_a_line_with_a_bad_amount_is_refused():
    with refused(INVALID_AMOUNT) as raised:
        validation.normalise_lines([(1, "debit", 5), (2, "credit", 5.0)])
    error = raised.value
    assert str(error) == "Amounts are integer fen, got float."


# --- Idempotency keys, memos and moments -------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["k", "k" * 255, "算" * 255, "ledger:hold:1:post", " "])
def test_an_idempotency_key_is_any_text_of_1_to_255_characters(key):
    assert validation.check_idempotency_key(key) == key


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("", "An idempotency key is required."),
        (None, "An idempotency key is required."),
        (5, "An idempotency key is required."),
        (b"key", "An idempotency key is required."),
        ("k" * 256, "An idempotency key has at most 255 characters, got 256."),
        ("算" * 300, "An idempotency key has at most 255 characters, got 300."),
        ("a\x00b", "An idempotency key may not contain NUL characters."),
        ("a\ud800", "An idempotency key must be valid Unicode text (it contains a lone surrogate)."),
    ],
)
def test_any_other_idempotency_key_is_refused(key, message):
    # given: empty, not text, longer than the column, or text PostgreSQL cannot store
    # when
    with refused(INVALID_ENTRY) as raised:
        validation.check_idempotency_key(key)
    error = raised.value
    # then
    assert str(error) == message


def test_a_memo_is_stored_as_text():
    # given / when / then: a lazy translation, a number, ordinary text with control characters
    assert validation.checked_memo(gettext_lazy("Reversal")) == "Reversal"
    assert validation.checked_memo(5) == "5"
    assert validation.checked_memo('line\n"two" \t 中文 \u0001') == 'line\n"two" \t 中文 \u0001'


@pytest.mark.parametrize(
    ("memo", "message"),
    [
        ("a\x00", "A memo may not contain NUL characters."),
        ("\ud83d", "A memo must be valid Unicode text (it contains a lone surrogate)."),
    ],
)
def test_a_memo_postgresql_cannot_store_is_refused(memo, message):
    with refused(INVALID_ENTRY) as raised:
        validation.checked_memo(memo)
    error = raised.value
    assert str(error) == message


@pytest.mark.parametrize(
    "moment",
    [
        dt.datetime(2026, 1, 1),  # noqa: DTZ001 (naive on purpose)
        dt.date(2026, 1, 1),
        "2026-01-01T00:00:00+00:00",
        None,
    ],
)
def test_a_moment_must_be_an_aware_datetime(moment):
    with refused(INVALID_ENTRY) as raised:
        validation.check_aware(moment, "effective_at")
    error = raised.value
    assert str(error) == "effective_at must be a timezone-aware datetime."


def test_an_aware_datetime_is_a_moment():
    assert validation.check_aware(dt.datetime(2026, 1, 1, tzinfo=dt.UTC), "effective_at") is None


# --- Metadata --------------------------------------------------------------------------------------------------


def test_metadata_is_any_json_object_of_strings_integers_booleans_null_lists_and_objects():
    # given
    metadata = {
        "order": "A-1",
        "nested": {"list": [1, "x", None, True, False, ("tuple", 2)], "empty": {}},
        "largest": BIGINT_MAX,
        "smallest": -BIGINT_MAX,
        "": "an empty key is a key",
    }
    # when / then: accepted as given (the same object)
    assert validation.checked_metadata(metadata) is metadata


def test_no_metadata_is_an_empty_object():
    assert validation.checked_metadata(None) == {}
    assert validation.checked_metadata({}) == {}


@pytest.mark.parametrize(
    ("metadata", "message"),
    [
        ([("a", 1)], "Metadata must be a JSON object."),
        ("a", "Metadata must be a JSON object."),
        ((("a", 1),), "Metadata must be a JSON object."),
        ({1: "a"}, "Metadata keys must be strings."),
        ({"a": {("b",): 1}}, "Metadata keys must be strings."),
        ({"a": 0.1}, "Metadata may not contain floats; use strings or integer fen."),
        ({"a": [1, [2.0]]}, "Metadata may not contain floats; use strings or integer fen."),
        ({"a": ("x", 1.5)}, "Metadata may not contain floats; use strings or integer fen."),
        ({"a": BIGINT_MAX + 1}, f"Metadata integers fit in 64 bits, got {BIGINT_MAX + 1}."),
        ({"a": [-(BIGINT_MAX + 2)]}, f"Metadata integers fit in 64 bits, got {-(BIGINT_MAX + 2)}."),
        ({"a": Decimal("1.5")}, "Metadata holds strings, integers, booleans, null, lists and objects, not Decimal."),
        ({"a": [dt.date(2026, 1, 1)]}, "not date."),
        ({"a": {"b": {1, 2}}}, "not set."),
        ({"a": b"bytes"}, "not bytes."),
        ({"a": "b\x00"}, "Metadata may not contain NUL characters."),
        ({"a": ["b", {"c": "\x00"}]}, "Metadata may not contain NUL characters."),
        ({"a\x00": "b"}, "A metadata key may not contain NUL characters."),
        ({"a": {"\x00": 1}}, "A metadata key may not contain NUL characters."),
        ({"a": "\udfff"}, "Metadata must be valid Unicode text (it contains a lone surrogate)."),
        ({"\ud800": "a"}, "A metadata key must be valid Unicode text (it contains a lone surrogate)."),
    ],
)
def test_metadata_that_would_not_survive_json_and_jsonb_bit_for_bit_is_refused(metadata, message):
    # given: not an object, a non-string key, a float, an integer beyond 64 bits, a type JSON has not, or text
    # PostgreSQL cannot store, at any depth
    # when
    with refused(INVALID_ENTRY) as raised:
        validation.checked_metadata(metadata)
    error = raised.value
    # then
    assert str(error).endswith(message)


# --- Drafts and fingerprints ---------------------------------------------------------------------------------------


def test_a_fingerprint_is_the_hash_of_the_canonical_request_with_its_operation():
    # given / when
    fingerprint = validation.request_fingerprint("entry", amount=5, memo="x")
    # then
    assert fingerprint == sha256_hex(canonical_json({"operation": "entry", "amount": 5, "memo": "x"}))
    assert fingerprint != validation.request_fingerprint("hold", amount=5, memo="x")


@pytest.mark.parametrize(
    ("actor", "pk"),
    [(None, None), (object(), None), (SimpleNamespace(pk=None), None), (SimpleNamespace(pk=7), 7)],
)
def test_the_actor_recorded_is_the_pk_of_a_saved_user_or_none(actor, pk):
    assert validation.actor_pk(actor) == pk


MOMENT = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)
DRAFT = {
    "idempotency_key": "k-1",
    "lines": [Line(1, Direction.DEBIT, 5), Line(2, Direction.CREDIT, 5)],
    "currency": "CNY",
    "memo": "sale",
    "metadata": {"order": "A-1"},
    "actor_id": 3,
    "effective_at": MOMENT,
    "reverses_id": 11,
}


def test_a_draft_carries_the_request_and_its_fingerprint():
    # given / when
    draft = validation.draft_entry(**DRAFT)
    # then
    assert draft.idempotency_key == "k-1"
    assert draft.lines == DRAFT["lines"]
    assert (draft.currency, draft.memo, draft.metadata) == ("CNY", "sale", {"order": "A-1"})
    assert (draft.actor_id, draft.effective_at, draft.reverses_id) == (3, MOMENT, 11)
    assert draft.pending_release == {}
    assert draft.fingerprint == validation.request_fingerprint(
        "entry",
        lines=[[1, "debit", 5], [2, "credit", 5]],
        currency="CNY",
        memo="sale",
        metadata={"order": "A-1"},
        actor=3,
        effective_at=iso_utc(MOMENT),
        reverses=11,
    )


def test_a_draft_without_moment_metadata_or_reversal_fingerprints_them_as_none():
    # given / when
    draft = validation.draft_entry(**{**DRAFT, "effective_at": None, "metadata": None, "reverses_id": None})
    # then
    assert draft.metadata == {}
    assert draft.reverses_id is None
    assert draft.fingerprint == validation.request_fingerprint(
        "entry",
        lines=[[1, "debit", 5], [2, "credit", 5]],
        currency="CNY",
        memo="sale",
        metadata={},
        actor=3,
        effective_at=None,
        reverses=None,
    )


@pytest.mark.parametrize(
    "change",
    [
        {"lines": [Line(1, Direction.DEBIT, 6), Line(2, Direction.CREDIT, 6)]},
        {"currency": "USD"},
        {"memo": "refund"},
        {"metadata": {"order": "A-2"}},
        {"actor_id": None},
        {"effective_at": MOMENT + dt.timedelta(microseconds=1)},
        {"effective_at": None},
        {"reverses_id": None},
    ],
)
def test_any_difference_in_the_request_changes_the_fingerprint_but_the_key_does_not(change):
    # given
    original = validation.draft_entry(**DRAFT)
    # when
    changed = validation.draft_entry(**{**DRAFT, **change})
    same_but_key = validation.draft_entry(**{**DRAFT, "idempotency_key": "k-2"})
    # then
    assert changed.fingerprint != original.fingerprint
    assert same_but_key.fingerprint == original.fingerprint


def test_the_same_moment_in_another_zone_is_the_same_request():
    # given
    elsewhere = MOMENT.astimezone(dt.timezone(dt.timedelta(hours=8)))
    # when / then
    assert validation.draft_entry(**{**DRAFT, "effective_at": elsewhere}).fingerprint == (
        validation.draft_entry(**DRAFT).fingerprint
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"idempotency_key": ""}, "An idempotency key is required."),
        ({"idempotency_key": "k" * 256}, "An idempotency key has at most 255 characters, got 256."),
        ({"memo": "\x00"}, "A memo may not contain NUL characters."),
        ({"effective_at": dt.datetime(2026, 1, 1)}, "effective_at must be a timezone-aware datetime."),  # noqa: DTZ001
        ({"effective_at": dt.date(2026, 1, 1)}, "effective_at must be a timezone-aware datetime."),
        ({"metadata": {"rate": 0.1}}, "Metadata may not contain floats; use strings or integer fen."),
    ],
)
def test_a_draft_checks_its_key_memo_moment_and_metadata(change, message):
    with refused(INVALID_ENTRY) as raised:
        validation.draft_entry(**{**DRAFT, **change})
    error = raised.value
    assert str(error) == message


# --- Through the services, on both posting paths ---------------------------------------------------------------


@pytest.fixture
def pair(make_account):
    return make_account(), make_account()


ENTRY_REFUSALS = [
    pytest.param({"idempotency_key": ""}, INVALID_ENTRY, id="empty-key"),
    pytest.param({"idempotency_key": "k" * 256}, INVALID_ENTRY, id="key-too-long"),
    pytest.param({"idempotency_key": "a\x00b"}, INVALID_ENTRY, id="nul-in-key"),
    pytest.param({"memo": "a\x00b"}, INVALID_ENTRY, id="nul-in-memo"),
    pytest.param({"memo": "\ud800"}, INVALID_ENTRY, id="surrogate-in-memo"),
    pytest.param({"metadata": {"a": "b\x00"}}, INVALID_ENTRY, id="nul-in-metadata"),
    pytest.param({"metadata": {"a\x00": "b"}}, INVALID_ENTRY, id="nul-in-metadata-key"),
    pytest.param({"metadata": {"a": Decimal(1)}}, INVALID_ENTRY, id="decimal-in-metadata"),
    pytest.param({"metadata": {1: "a"}}, INVALID_ENTRY, id="int-metadata-key"),
    pytest.param({"metadata": ["a"]}, INVALID_ENTRY, id="metadata-not-an-object"),
    pytest.param({"metadata": {"a": 2**64}}, INVALID_ENTRY, id="metadata-integer-beyond-64-bits"),
    pytest.param({"effective_at": dt.date(2026, 1, 1)}, INVALID_ENTRY, id="effective-at-a-date"),
    pytest.param({"lines": lambda a, b: [(a, "debit", 9), (b, "credit", 10)]}, UNBALANCED, id="credits-exceed"),
    pytest.param({"lines": lambda a, b: [(a, "debit", 1), (b, "credit")]}, INVALID_ENTRY, id="line-of-two"),
    pytest.param({"lines": lambda a, b: [(a, "debit", 1), ("x", "credit", 1)]}, INVALID_ENTRY, id="text-account"),
    pytest.param({"lines": lambda a, b: [(a, "debit", 1), (2**70, "credit", 1)]}, INVALID_ENTRY, id="huge-id"),
    pytest.param({"lines": lambda a, b: [(a, "debit", 1), (True, "credit", 1)]}, INVALID_ENTRY, id="bool-account"),
    pytest.param({"lines": lambda a, b: iter([(a, "debit", 1), (b, "credit", 1)])}, INVALID_ENTRY, id="iterator"),
]


@pytest.mark.django_db
@pytest.mark.usefixtures("posting_path")
@pytest.mark.parametrize(("change", "code"), ENTRY_REFUSALS)
def test_entry_post_refuses_what_the_database_could_not_store_without_trace(pair, change, code):
    # given
    a, b = pair
    request = {"actor": None, "idempotency_key": "fresh", "lines": [(a, "debit", 1), (b, "credit", 1)]}
    if callable(change.get("lines")):
        change = {**change, "lines": change["lines"](a, b)}
    before = ledger_snapshot()
    # when
    with refused(code):
        services.entry_post(**{**request, **change})
    # then: a ledger refusal, not a database error, and nothing written
    assert ledger_snapshot() == before


@pytest.mark.django_db
@pytest.mark.usefixtures("posting_path")
def test_exactly_max_fen_posts_and_a_key_of_255_characters_replays(pair):
    # given
    a, b = pair
    key = "算" * 255
    request = {"actor": None, "idempotency_key": key, "lines": [(a, "debit", MAX_FEN), (b, "credit", MAX_FEN)]}
    # when
    first = services.entry_post(**request)
    again = services.entry_post(**request)
    # then
    assert again.pk == first.pk
    assert first.idempotency_key == key
    assert JournalEntry.objects.count() == 1
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.posted_debits, b.posted_credits) == (MAX_FEN, MAX_FEN)


@pytest.mark.django_db
@pytest.mark.usefixtures("posting_path")
def test_one_fen_above_max_fen_is_refused_without_trace(pair):
    a, b = pair
    before = ledger_snapshot()
    with refused(INVALID_AMOUNT):
        services.entry_post(actor=None, idempotency_key="k", lines=[(a, "debit", MAX_FEN + 1), (b, "credit", 1)])
    assert ledger_snapshot() == before


HOLD_REFUSALS = [
    pytest.param({"idempotency_key": ""}, INVALID_ENTRY, id="empty-key"),
    pytest.param({"idempotency_key": "k" * 256}, INVALID_ENTRY, id="key-too-long"),
    pytest.param({"idempotency_key": "a\x00b"}, INVALID_ENTRY, id="nul-in-key"),
    pytest.param({"memo": "a\x00b"}, INVALID_ENTRY, id="nul-in-memo"),
    pytest.param({"metadata": {"a": "\x00"}}, INVALID_ENTRY, id="nul-in-metadata"),
    pytest.param({"metadata": {"a": Decimal(1)}}, INVALID_ENTRY, id="decimal-in-metadata"),
    pytest.param({"expires_at": dt.date(2099, 1, 1)}, INVALID_ENTRY, id="expiry-a-date"),
    pytest.param({"expires_at": "2099-01-01T00:00:00Z"}, INVALID_ENTRY, id="expiry-a-string"),
    pytest.param({"expires_at": dt.datetime(2099, 1, 1)}, INVALID_ENTRY, id="expiry-naive"),  # noqa: DTZ001
    pytest.param({"expires_at": "now"}, INVALID_ENTRY, id="expiry-now"),
    pytest.param({"amount": 0}, INVALID_AMOUNT, id="zero"),
    pytest.param({"amount": MAX_FEN + 1}, INVALID_AMOUNT, id="above-max"),
    pytest.param({"credit_account": "x"}, INVALID_ENTRY, id="text-account"),
    pytest.param({"debit_account": 2**70}, INVALID_ENTRY, id="huge-id"),
    pytest.param({"credit_account": "debit"}, INVALID_ENTRY, id="same-account"),
]


@pytest.mark.django_db
@pytest.mark.usefixtures("posting_path")
@pytest.mark.parametrize(("change", "code"), HOLD_REFUSALS)
def test_hold_create_refuses_what_the_database_could_not_store_without_trace(pair, change, code):
    # given
    a, b = pair
    now = timezone.now()
    request = {
        "actor": None,
        "idempotency_key": "hold",
        "debit_account": a,
        "credit_account": b,
        "amount": 5,
        "expires_at": now + dt.timedelta(minutes=5),
        "now": now,
    }
    if change.get("expires_at") == "now":
        change = {"expires_at": now}
    if change.get("credit_account") == "debit":
        change = {"credit_account": a.pk}
    before = ledger_snapshot()
    # when
    with refused(code):
        services.hold_create(**{**request, **change})
    # then
    assert ledger_snapshot() == before
    assert not Hold.objects.exists()


@pytest.mark.django_db
@pytest.mark.usefixtures("posting_path")
def test_a_hold_of_exactly_max_fen_with_a_key_of_255_characters_is_created_and_replayed(pair):
    # given
    a, b = pair
    now = timezone.now()
    request = {
        "actor": None,
        "idempotency_key": "k" * 255,
        "debit_account": a,
        "credit_account": b.pk,
        "amount": MAX_FEN,
        "expires_at": now + dt.timedelta(microseconds=1),
        "now": now,
        "metadata": {"claim": 7},
    }
    # when
    hold = services.hold_create(**request)
    again = services.hold_create(**request)
    # then
    assert again.pk == hold.pk
    assert (hold.amount, hold.debit_account_id, hold.credit_account_id) == (MAX_FEN, a.pk, b.pk)
    a.refresh_from_db()
    assert a.pending_debits == MAX_FEN
