"""GET /api/v1/reports/payouts/: one row per payer's share of each payout, filtered by payer and period."""

from __future__ import annotations

import pytest
from django.utils import timezone

from tests.factories import client_for

pytestmark = pytest.mark.django_db


def shares(reader, claimed, **query):
    response = client_for(reader).get("/api/v1/reports/payouts/", {"program": claimed.cast.program.pk, **query})
    assert response.status_code == 200, response.json()
    return [(row["claim"], row["payer"], row["amount"], row["payout_amount"]) for row in response.json()["results"]]


def test_payouts_by_payer_as_of_each_moment(bd, claimed):
    first, second = claimed.first.pk, claimed.second.pk
    # then nothing paid at moment 0, claim 1's 15,000 at moment 1, both now (no funding split: one payer, "program")
    assert shares(bd.auditor, claimed, as_of=claimed.moment_0.isoformat()) == []
    assert shares(bd.auditor, claimed, as_of=claimed.moment_1.isoformat()) == [
        (first, "program", "15000.00", "15000.00")
    ]
    assert shares(bd.auditor, claimed) == [
        (first, "program", "15000.00", "15000.00"),
        (second, "program", "15000.00", "15000.00"),
    ]


def test_a_payers_settlement_statement_for_a_period(bd, claimed):
    today = timezone.localdate().isoformat()
    # when the county asks for its statement, and the program payer for today's
    county = shares(bd.auditor, claimed, payer="county")
    city = shares(bd.auditor, claimed, payer="program", date_from=today, date_to=today)
    # then the county paid nothing; the program paid both today
    assert county == []
    assert [amount for _claim, _payer, amount, _total in city] == ["15000.00", "15000.00"]
