"""The journal's CSV rendered by PostgreSQL (``reports.journal_sql``) is byte for byte the CSV the Python path writes
cell by cell, on data chosen to be awkward: text a spreadsheet would run, commas, quotes, CR and LF, empty memos,
negative balances, timestamps with and without microseconds, entries sealed after ``as_of`` and never sealed, and
time zones west, east and half an hour off."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from datetime import timezone as dt_timezone

import pytest
from django.utils import timezone, translation

from ledger import services as ledger
from ledger.models import Account, ChainLink, JournalEntry, Posting
from ledger.sealing import seal_pending
from voucher_service.reports.catalog import REPORTS
from voucher_service.reports.journal import JournalReport
from voucher_service.reports.runner import build_context, validated
from voucher_service.reports.scope import report_scope
from voucher_service.reports.writers import csv_chunks

pytestmark = pytest.mark.django_db

MEMOS = [
    '=HYPERLINK("http://evil.example","x")',
    "+1",
    "-1, minus one",
    "@SUM(A1)",
    "\tTab first",
    "\r\nCR first",
    'He said "quoted", then left',
    "line one\nline two",
    "",
    "银川智算 1+1=2",
    "'already an apostrophe",
]


def _forge(key: str, memo: str, moment: datetime, lines: list[tuple[Account, str, int]]) -> JournalEntry:
    entry = JournalEntry.objects.create(
        idempotency_key=key,
        request_fingerprint="0" * 64,
        effective_at=moment - timedelta(days=1, microseconds=7),
        recorded_at=moment,
        memo=memo,
        body_digest="f" * 64,
    )
    for account, direction, amount in lines:
        last = Posting.objects.filter(account=account).order_by("-account_version").first()
        balance = (last.balance_after if last else 0) + (amount if direction == "credit" else -amount)
        Posting.objects.create(
            entry=entry,
            account=account,
            direction=direction,
            amount=amount,
            account_version=(last.account_version if last else 0) + 1,
            balance_after=balance,
            recorded_at=moment,
        )
    return entry


@pytest.fixture
def awkward_journal(forged_ledger):
    """Entries posted by the service (sealed), and entries written straight into the tables (never sealed)."""
    source = ledger.account_create(code='=source,"one"', name="source")
    sink = ledger.account_create(code="-sink", name="sink")
    plain = ledger.account_create(code="plain:account", name="plain")
    ledger.entry_post(
        actor=None, idempotency_key="+posted:1", lines=[(source, "debit", 12_345), (sink, "credit", 12_345)]
    )
    ledger.entry_post(
        actor=None, idempotency_key="posted,2", lines=[(sink, "debit", 5), (plain, "credit", 5)], memo="@x"
    )
    seal_pending()
    start = datetime(2026, 3, 8, 6, 59, 59, tzinfo=UTC)  # 01:59:59 in New York, a second before summer time
    for n, memo in enumerate(MEMOS):
        moment = start + timedelta(seconds=n, microseconds=(0 if n % 2 else 500_000 * (n % 3) + n))
        key = f"forged:{n}" if n % 3 else f'=forged"{n}"'
        _forge(key, memo, moment, [(plain, "debit", 100 * n + 1), (sink, "credit", 100 * n + 1)])
    return source


def _export(user, as_of=None, python_path=False, monkeypatch=None, **query):
    report = REPORTS["journal"]
    if as_of is not None:
        query["as_of"] = as_of.isoformat()
    context = build_context(report, user, report_scope(user), validated(report, query), None)
    if python_path:
        monkeypatch.setattr(JournalReport, "csv_lines", lambda self, context: None)
    else:
        assert report.csv_lines(context) is not None  # the database renders the rows
    return b"".join(csv_chunks(report, context))


def _both(user, monkeypatch, **kwargs):
    rendered = _export(user, **kwargs)
    with monkeypatch.context() as patch:
        cell_by_cell = _export(user, python_path=True, monkeypatch=patch, **kwargs)
    return rendered, cell_by_cell


@pytest.mark.postgres
@pytest.mark.parametrize("zone", ["Asia/Shanghai", "America/New_York", "Asia/Kolkata", "UTC"])
def test_the_database_writes_the_bytes_python_writes(staff, awkward_journal, monkeypatch, zone):
    # when the whole journal is exported both ways, read in that time zone
    with timezone.override(zone):
        rendered, cell_by_cell = _both(staff, monkeypatch)
    # then the files are the same bytes, and the awkward cells are there, neutralised and quoted
    assert rendered == cell_by_cell
    rows = list(csv.reader(io.StringIO(rendered.decode("utf-8-sig"))))
    assert len(rows) == 1 + 2 * (2 + len(MEMOS))
    memos = {row[7] for row in rows[1:]}
    assert {'\'=HYPERLINK("http://evil.example","x")', "'\r\nCR first", "line one\nline two", ""} <= memos
    assert '\'=source,"one"' in {row[9] for row in rows[1:]}
    assert "-123.45" in {row[13] for row in rows[1:]}


@pytest.mark.postgres
def test_english_headers_and_a_filter_give_the_same_bytes(staff, awkward_journal, monkeypatch):
    # when an account's entries are exported with English headers
    with translation.override("en"):
        rendered, cell_by_cell = _both(staff, monkeypatch, account="-sink")
    # then
    assert rendered == cell_by_cell
    assert rendered.startswith("\ufeffEntry,Chain position,".encode())


@pytest.mark.postgres
def test_an_entry_sealed_after_as_of_has_no_chain_position_in_either(staff, awkward_journal, monkeypatch):
    # given a forged entry linked into the chain an hour after it was recorded
    late = JournalEntry.objects.get(idempotency_key="forged:1")
    ChainLink.objects.create(
        position=1000, entry=late, prev_hash="a" * 64, hash="b" * 64, sealed_at=late.recorded_at + timedelta(hours=1)
    )
    # when read as of a minute after it was recorded, and as of two hours after
    before, before_python = _both(staff, monkeypatch, as_of=late.recorded_at + timedelta(minutes=1))
    after, after_python = _both(staff, monkeypatch, as_of=late.recorded_at + timedelta(hours=2))
    # then its chain position and hash are empty as of the first moment, and there as of the second, in both files
    assert (before, after) == (before_python, after_python)

    def chain_cells(content):
        rows = csv.reader(io.StringIO(content.decode("utf-8-sig")))
        return {(row[1], row[2]) for row in rows if row[6] == "forged:1"}

    assert chain_cells(before) == {("", "")}
    assert chain_cells(after) == {("1000", "b" * 64)}


def test_a_zone_without_a_name_is_rendered_by_python(staff):
    # given a reader's zone that is a bare offset (PostgreSQL would read "UTC+08:00" with the sign reversed)
    report = REPORTS["journal"]
    context = build_context(report, staff, report_scope(staff), validated(report, {}), None)
    # when / then the rows are rendered cell by cell, on any database
    with timezone.override(dt_timezone(timedelta(hours=8))):
        assert report.csv_lines(context) is None
