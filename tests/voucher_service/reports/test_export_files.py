"""Exports opened back (csv module, openpyxl) and compared cell by cell; formula neutralisation; headers in the
reader's language."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from tests.factories import client_for
from voucher_service.reports.tabular import neutralise

pytestmark = pytest.mark.django_db


def export(user, path, language="zh-hans", **query):
    response = client_for(user).get(path, query, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200, response.content[:500]
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return response, content


def test_the_voucher_register_as_csv_cell_by_cell(auditor, world):
    # when
    response, content = export(auditor, "/api/v1/reports/vouchers/export/", as_of=world.moment_2.isoformat())
    # then
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["券号", "项目", "项目代码"]
    assert [row[0] for row in rows[1:]] == [world.v1.serial, world.v2.serial, world.v3.serial]
    first = dict(zip(rows[0], rows[1], strict=True))
    assert (first["面值"], first["余额"], first["状态"], first["退回或失效"]) == (
        "200.00",
        "0.00",
        "revoked",
        "return_to_budget",
    )


def test_the_voucher_register_as_xlsx_cell_by_cell(auditor, world):
    # when
    _, content = export(
        auditor, "/api/v1/reports/vouchers/export/", "en", file_format="xlsx", as_of=world.moment_2.isoformat()
    )
    # then
    sheet = load_workbook(io.BytesIO(content), read_only=True).active
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    headers = rows[0]
    assert headers[:3] == ["Serial number", "Program", "Program code"]
    first = dict(zip(headers, rows[1], strict=True))
    assert first["Serial number"] == world.v1.serial
    assert first["Face value"] == Decimal("200")
    assert first["Balance"] == 0
    cells = list(next(iter(load_workbook(io.BytesIO(content)).active.iter_rows(min_row=2, max_row=2))))
    money = cells[headers.index("Face value")]
    assert money.number_format == "#,##0.00"
    assert money.data_type == "n"


def test_formulas_are_neutralised_in_both(auditor, world, program_admin):
    # given a revocation whose reason a spreadsheet would run as a formula
    from voucher_service.vouchers.services import voucher_revoke

    voucher_revoke(actor=program_admin, voucher=world.v2, reason='=HYPERLINK("http://evil.example","x")')
    # when
    _, csv_content = export(auditor, "/api/v1/reports/vouchers/export/")
    _, xlsx_content = export(auditor, "/api/v1/reports/vouchers/export/", file_format="xlsx")
    # then the text is kept, behind an apostrophe, and never becomes a formula
    rows = list(csv.reader(io.StringIO(csv_content.decode("utf-8-sig"))))
    assert rows[2][-1] == '\'=HYPERLINK("http://evil.example","x")'
    sheet = load_workbook(io.BytesIO(xlsx_content)).active
    cell = sheet.cell(row=3, column=len(rows[0]))
    assert cell.value == '\'=HYPERLINK("http://evil.example","x")'
    assert cell.data_type == "s"


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"])
def test_every_formula_start_is_neutralised(text):
    # when / then
    assert neutralise(text) == "'" + text


def test_plain_text_is_left_alone():
    assert neutralise("银川智算 1+1=2") == "银川智算 1+1=2"


def test_the_budget_statement_exports_its_lines(auditor, world):
    # when
    _, content = export(auditor, f"/api/v1/reports/programs/{world.program.pk}/budget-statement/export/", "en")
    # then
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    lines = {row[0]: row for row in rows[1:]}
    assert lines["issued"][2] == "600.00"
    assert lines["lapsed"][2] == "100.00"
    assert lines["identity:issued"][4] == "true"
