"""GET /api/v1/reports/clawbacks/: clawbacks with what was recovered of each by a moment."""

from __future__ import annotations

import pytest
from django.utils import timezone

from tests.factories import client_for

pytestmark = pytest.mark.django_db


def rows(reader, claimed, **query):
    response = client_for(reader).get("/api/v1/reports/clawbacks/", {"program": claimed.cast.program.pk, **query})
    assert response.status_code == 200, response.json()
    return [
        (row["claim"], row["reason_code"], row["amount"], row["recovered"], row["outstanding"], row["created_by"])
        for row in response.json()["results"]
    ]


def test_clawbacks_and_recoveries_as_of_a_moment(bd, claimed):
    first = claimed.first.pk
    # given 2,000 of the 5,000 clawed back comes back after moment 2
    clawback_id = client_for(bd.auditor).get("/api/v1/reports/clawbacks/").json()["results"][0]["id"]
    recovered = client_for(bd.finance).post(
        f"/api/v1/claims/{first}/recover/",
        {
            "clawback": clawback_id,
            "amount": "2000.00",
            "received_on": timezone.localdate().isoformat(),
            "reference": "R",
        },
        format="json",
    )
    assert recovered.status_code == 201, recovered.json()
    # then before the clawback nothing; as of moment 2 all 5,000 outstanding; now 3,000
    assert rows(bd.auditor, claimed, as_of=claimed.moment_1.isoformat()) == []
    assert rows(bd.auditor, claimed, as_of=claimed.moment_2.isoformat()) == [
        (first, "audit_finding", "5000.00", "0.00", "5000.00", "bd_finance")
    ]
    assert rows(bd.auditor, claimed) == [(first, "audit_finding", "5000.00", "2000.00", "3000.00", "bd_finance")]
