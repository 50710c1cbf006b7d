"""GET /api/v1/reports/claims/: each claim's status and amounts as of a moment, from what was recorded by then."""

from __future__ import annotations

import pytest

from tests.factories import client_for

pytestmark = pytest.mark.django_db

AMOUNTS = ("status", "subsidy", "approved_amount", "paid_amount", "clawed_back_amount")


def register(reader, claimed, **query):
    response = client_for(reader).get("/api/v1/reports/claims/", {"program": claimed.cast.program.pk, **query})
    assert response.status_code == 200, response.json()
    return {row["id"]: tuple(row[key] for key in AMOUNTS) for row in response.json()["results"]}


def test_claims_as_of_three_moments(bd, claimed):
    first, second = claimed.first.pk, claimed.second.pk
    # when read as of each moment of the worked example
    at_0 = register(bd.auditor, claimed, as_of=claimed.moment_0.isoformat())
    at_1 = register(bd.auditor, claimed, as_of=claimed.moment_1.isoformat())
    now = register(bd.auditor, claimed)
    # then moment 0: claim 1 in review, 20,000 evaluated and approved so far, nothing paid
    assert at_0 == {first: ("in_review", "20000.00", "20000.00", "0.00", "0.00")}
    # moment 1: claim 1 lowered to 15,000 and paid so (partly paid); claim 2 not yet there
    assert at_1 == {first: ("paid", "20000.00", "15000.00", "15000.00", "0.00")}
    # now: claim 1 clawed back 5,000; claim 2 evaluated 15,000 (the rule cap's rest) and paid
    assert now == {
        first: ("clawed_back", "20000.00", "15000.00", "15000.00", "5000.00"),
        second: ("paid", "15000.00", "15000.00", "15000.00", "0.00"),
    }


def test_each_stage_decider_and_the_evaluation_are_shown(bd, claimed):
    # when
    response = client_for(bd.auditor).get("/api/v1/reports/claims/", {"program": claimed.cast.program.pk})
    # then claim 1's three stages, the first lowering the amount, each by its decider
    row = response.json()["results"][0]
    assert [(d["decision"], d["amount"], d["by"]) for d in row["decisions"]] == [
        ("approve", "15000.00", "bd_reviewer"),
        ("approve", None, "bd_reviewer2"),
        ("approve", None, "bd_finance"),
    ]
    assert (row["evaluation"]["eligible_cost"], row["evaluation"]["subsidy"]) == ("40000.00", "20000.00")
    assert [(r["code"], r["amount"]) for r in row["evaluation"]["rules"]] == [("capped", "20000.00")]


def test_the_same_as_of_gives_the_same_rows_in_the_same_order(bd, claimed):
    # when read twice as of moment 1
    as_of = claimed.moment_1.isoformat()
    first = client_for(bd.auditor).get("/api/v1/reports/claims/", {"as_of": as_of}).json()["results"]
    again = client_for(bd.auditor).get("/api/v1/reports/claims/", {"as_of": as_of}).json()["results"]
    # then
    assert first == again
    assert [row["id"] for row in first] == [claimed.first.pk]
