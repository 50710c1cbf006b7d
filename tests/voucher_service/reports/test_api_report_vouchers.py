"""GET /api/v1/reports/vouchers/: the voucher register as of each moment of the worked example."""

from __future__ import annotations

import pytest

from tests.factories import client_for

pytestmark = pytest.mark.django_db


def register(user, **query):
    response = client_for(user).get("/api/v1/reports/vouchers/", query)
    assert response.status_code == 200, response.json()
    return response.json()


def states(body):
    return [(row["serial"], row["balance"], row["status"], row["closed_to"]) for row in body["results"]]


def test_the_register_as_of_three_moments(auditor, world):
    # when
    first, second, third = (
        register(auditor, as_of=m.isoformat()) for m in (world.moment_1, world.moment_2, world.moment_3)
    )
    # then each voucher is as it was then
    v1, v2, v3 = world.v1.serial, world.v2.serial, world.v3.serial
    assert states(first) == [(v1, "200.00", "active", None), (v2, "300.00", "active", None)]
    assert states(second) == [
        (v1, "0.00", "revoked", "return_to_budget"),
        (v2, "300.00", "active", None),
        (v3, "100.00", "active", None),
    ]
    assert states(third) == [
        (v1, "0.00", "revoked", "return_to_budget"),
        (v2, "300.00", "active", None),
        (v3, "0.00", "expired", "lapse"),
    ]
    assert second["results"][0]["closed_amount"] == "200.00"
    assert [row["face_value"] for row in third["results"]] == ["200.00", "300.00", "100.00"]


def test_the_same_as_of_gives_the_same_rows_every_time(auditor, world):
    # when
    reads = [register(auditor, as_of=world.moment_2.isoformat()) for _ in range(3)]
    # then
    assert reads[0] == reads[1] == reads[2]


def test_filters_by_entity_and_status(auditor, world):
    # when
    by_entity = register(auditor, entity=world.entity_a.pk)
    expired = register(auditor, status="expired")
    # then
    assert [row["serial"] for row in by_entity["results"]] == [world.v1.serial, world.v3.serial]
    assert [row["serial"] for row in expired["results"]] == [world.v3.serial]


def test_an_entity_reads_its_own_vouchers_only(world):
    # given an applicant of entity B
    from accounts.models import Membership

    applicant = Membership.objects.filter(organization=world.entity_b, role="applicant").first().user
    # when
    body = register(applicant)
    # then
    assert [row["serial"] for row in body["results"]] == [world.v2.serial]


def test_a_future_moment_is_refused(auditor, world):
    # when
    response = client_for(auditor).get("/api/v1/reports/vouchers/", {"as_of": "2999-01-01T00:00:00+08:00"})
    # then
    assert response.status_code == 400
    assert "as_of" in response.json()["error"]["fields"]
