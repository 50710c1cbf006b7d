"""Builders of the auditor pages' tests: a paid claim on the Baoding program (its payout split between the city
and the district, 50 % each), and reading a downloaded file back."""

from __future__ import annotations

import csv
import io
from typing import Any

from openpyxl import load_workbook

from tests.claims import Cast, approve_all, issue_voucher, pay, submitted
from voucher_service.claims.models import Claim, ClaimStatus


def paid_claim(bd: Cast, capture: Any) -> Claim:
    """A claim of 1,000,000.00 at 50 %, approved at every stage and paid: 500,000.00, by the city and the district."""
    issue_voucher(bd.program, bd.entity, 1_000_000 * 100)
    claim = approve_all(bd, submitted(bd, capture))
    assert pay(bd, claim, capture).status_code == 202
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.PAID, claim.status
    return claim


def csv_rows(content: bytes) -> list[list[str]]:
    text = content.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def xlsx_rows(content: bytes) -> list[list[Any]]:
    sheet = load_workbook(io.BytesIO(content), read_only=True).worksheets[0]
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def by_line(rows: list[list[Any]]) -> dict[str, list[Any]]:
    """A budget statement's rows by their line key (the first column)."""
    return {str(row[0]): row for row in rows[1:]}
