"""GET /api/v1/reports/applications/: applications with their deciders, as of a moment."""

from __future__ import annotations

import pytest

from tests.factories import client_for

pytestmark = pytest.mark.django_db


def test_applications_with_their_decisions(auditor, reviewer, world):
    # when
    response = client_for(auditor).get("/api/v1/reports/applications/", {"as_of": world.moment_3.isoformat()})
    # then
    body = response.json()
    assert response.status_code == 200
    assert [(r["requested_amount"], r["approved_amount"], r["status"], r["decided_by"]) for r in body["results"]] == [
        ("200.00", "200.00", "approved", reviewer.username),
        ("300.00", "300.00", "approved", reviewer.username),
        ("100.00", "100.00", "approved", reviewer.username),
    ]


def test_before_any_application_the_register_is_empty(auditor, world):
    # when
    response = client_for(auditor).get("/api/v1/reports/applications/", {"as_of": "2001-01-01T00:00:00+08:00"})
    # then
    assert response.json()["count"] == 0


def test_applications_as_of_three_moments(auditor, world):
    # when read as of each moment of the worked example
    def amounts(moment):
        response = client_for(auditor).get("/api/v1/reports/applications/", {"as_of": moment.isoformat()})
        return [(r["requested_amount"], r["status"]) for r in response.json()["results"]]

    # then V1's and V2's applications by moment 1, V3's too by moment 2, and nothing new by moment 3
    assert amounts(world.moment_1) == [("200.00", "approved"), ("300.00", "approved")]
    assert amounts(world.moment_2) == [("200.00", "approved"), ("300.00", "approved"), ("100.00", "approved")]
    assert amounts(world.moment_3) == amounts(world.moment_2)
