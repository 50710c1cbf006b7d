"""GET /api/v1/reports/programs/{id}/budget-statement/: the worked example's figures as of three moments."""

from __future__ import annotations

import pytest

from tests.factories import client_for

pytestmark = pytest.mark.django_db


def statement(auditor, world, moment):
    url = f"/api/v1/reports/programs/{world.program.pk}/budget-statement/"
    response = client_for(auditor).get(url, {"as_of": moment.isoformat()})
    assert response.status_code == 200, response.json()
    return response.json()


def amounts(body):
    return {figure["key"]: figure["amount"] for figure in body["figures"]}


def test_the_statement_as_of_three_moments(auditor, world):
    # given the worked example
    # when the auditor reads the statement as of each moment
    first, second, third = (statement(auditor, world, m) for m in (world.moment_1, world.moment_2, world.moment_3))
    # then the figures are those of each moment
    assert amounts(first) == {
        "cap": "1000.00",
        "issued": "500.00",
        "held": "0.00",
        "returned": "0.00",
        "lapsed": "0.00",
        "paid": "0.00",
        "clawed_back": "0.00",
        "remaining": "500.00",
        "voucher_balances": "500.00",
        "reserved_by_claims": "0.00",
        "in_clearing": "0.00",
        "recovered": "0.00",
    }
    assert amounts(second) | {} == {
        **amounts(first),
        "issued": "600.00",
        "returned": "200.00",
        "remaining": "600.00",
        "voucher_balances": "400.00",
    }
    assert amounts(third) == {**amounts(second), "lapsed": "100.00", "voucher_balances": "300.00"}
    # and both identities hold at every moment, and say so
    for body in (first, second, third):
        assert body["balanced"] is True
        assert [identity["holds"] for identity in body["identities"]] == [True, True]


def test_every_figure_names_the_accounts_behind_it(auditor, world):
    # when
    body = statement(auditor, world, world.moment_3)
    # then
    year = body["year"]
    issued = next(figure for figure in body["figures"] if figure["key"] == "issued")
    assert issued["accounts"] == [
        {
            "account": f"programs:{world.program.pk}:{year}:budget",
            "side": "posted_debits",
            "sign": 1,
            "amount": "600.00",
        },
        {
            "account": f"programs:{world.program.pk}:{year}:appropriation",
            "side": "posted_credits",
            "sign": -1,
            "amount": "0.00",
        },
    ]
    assert body["chain_head"]["height"] > 0


def test_a_year_not_opened_is_not_found(auditor, world):
    # when
    url = f"/api/v1/reports/programs/{world.program.pk}/budget-statement/"
    response = client_for(auditor).get(url, {"year": 2001})
    # then
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
