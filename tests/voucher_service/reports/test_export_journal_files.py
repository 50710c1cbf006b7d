"""The journal's CSV and XLSX exports opened back (csv module, openpyxl) and compared cell by cell with its JSON
rows, as of the worked example's three moments; and its background export writes the very bytes the streamed
export does (on PostgreSQL both are the database's rendering, read between progress updates)."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from tests.factories import client_for
from voucher_service.reports.catalog import REPORTS
from voucher_service.reports.tabular import Kind, neutralise

pytestmark = pytest.mark.django_db

URL = "/api/v1/reports/journal/"


@pytest.fixture
def file_storage(settings, tmp_path):
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}}
    settings.MEDIA_ROOT = str(tmp_path)


def json_rows(user, **query):
    body = client_for(user).get(URL, {"limit": 200, **query}).json()
    assert body["count"] == len(body["results"])
    return body["results"]


def export(user, **query):
    response = client_for(user).get(URL + "export/", query, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200, response.content[:500]
    return b"".join(response.streaming_content) if response.streaming else response.content


TEXT_KEYS = {column.key for column in REPORTS["journal"].columns if column.kind == Kind.TEXT}


def as_text(key, value):
    """A JSON cell as the CSV writes it: empty for null, text neutralised (money and datetimes are not text)."""
    if value is None:
        return ""
    return neutralise(value) if key in TEXT_KEYS else str(value)


def test_csv_and_xlsx_hold_the_json_rows_cell_by_cell_as_of_three_moments(auditor, world):
    program = world.program.pk
    seen = []
    for moment in (world.moment_1, world.moment_2, world.moment_3):
        # when the journal of the program is read as of the moment, in JSON, CSV and XLSX
        query = {"program": program, "as_of": moment.isoformat()}
        rows = json_rows(auditor, **query)
        table = list(csv.reader(io.StringIO(export(auditor, **query).decode("utf-8-sig"))))
        sheet = load_workbook(io.BytesIO(export(auditor, file_format="xlsx", **query)), read_only=True).active
        cells = [[cell.value for cell in line] for line in sheet.iter_rows()]
        # then the three hold the same rows, in the same order, cell by cell
        keys = list(rows[0])
        assert table[0][:2] == cells[0][:2] == ["Entry", "Chain position"]
        assert table[1:] == [[as_text(key, row[key]) for key in keys] for row in rows]
        for row, line in zip(rows, cells[1:], strict=True):
            assert line[keys.index("amount")] == Decimal(row["amount"])
            assert line[keys.index("balance_after")] == Decimal(row["balance_after"])
            # (a spreadsheet keeps a moment as a fraction of a day: to the millisecond)
            recorded = datetime.fromisoformat(row["recorded_at"]).replace(tzinfo=None)
            assert abs(line[keys.index("recorded_at")] - recorded) <= timedelta(milliseconds=1)
            assert [line[keys.index(key)] for key in ("entry", "posting")] == [row["entry"], row["posting"]]
            assert (line[keys.index("memo")] or "") == as_text("memo", row["memo"])
        assert len(cells) == len(table)
        seen.append(sorted((row["account"].split(":")[-1], row["direction"], row["amount"]) for row in rows))
    # and the worked example's postings are there as each moment saw them: V1 200.00 and V2 300.00 issued by
    # moment 1; V3 100.00 issued and V1's 200.00 returned by moment 2; V3's 100.00 lapsed by moment 3
    first, second, third = seen
    v1, v2, v3 = world.v1.serial, world.v2.serial, world.v3.serial
    assert {(v1, "credit", "200.00"), (v2, "credit", "300.00")} <= set(first)
    assert not {(v3, "credit", "100.00"), (v1, "debit", "200.00")} & set(first)
    assert set(first) < set(second)
    assert {(v3, "credit", "100.00"), (v1, "debit", "200.00")} <= set(second)
    assert (v3, "debit", "100.00") not in set(second)
    assert set(second) < set(third)
    assert (v3, "debit", "100.00") in set(third)


def test_the_background_export_writes_the_bytes_the_streamed_one_does(
    auditor, world, settings, file_storage, django_capture_on_commit_callbacks
):
    # given the streamed CSV of the whole journal as of moment 3
    query = {"as_of": world.moment_3.isoformat()}
    settings.REPORTS_EXPORT_SYNC_MAX_ROWS = 10_000
    streamed = export(auditor, **query)
    # when the same export runs in the background (over a threshold of one row)
    settings.REPORTS_EXPORT_SYNC_MAX_ROWS = 1
    client = client_for(auditor)
    with django_capture_on_commit_callbacks(execute=True):
        accepted = client.get(URL + "export/", query, HTTP_ACCEPT_LANGUAGE="en")
    assert accepted.status_code == 202, accepted.json()
    job = client.get(accepted["Location"]).json()
    # then it wrote every row, and the same bytes
    rows = streamed.count(b"\r\n") - 1
    assert (job["status"], job["total_rows"], job["rows_written"]) == ("succeeded", rows, rows)
    assert b"".join(client.get(job["download_url"]).streaming_content) == streamed
