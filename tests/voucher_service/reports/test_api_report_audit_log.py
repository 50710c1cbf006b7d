"""GET /api/v1/reports/audit-log/: who did what, when, before and after, for the programs audited."""

from __future__ import annotations

import pytest

from tests.factories import client_for, make_org, make_user

pytestmark = pytest.mark.django_db


def test_the_trail_of_a_revocation(auditor, program_admin, world):
    # when
    response = client_for(auditor).get("/api/v1/reports/audit-log/", {"action": "voucher.revoked", "limit": 10})
    # then
    [event] = response.json()["results"]
    assert event["actor"] == program_admin.username
    assert event["target_id"] == str(world.v1.pk)
    assert event["before"] == {"status": "active"}
    assert event["after"]["unused"] == 20_000
    assert event["after"]["to"] == "return_to_budget"


def test_another_agencys_auditor_sees_nothing_of_it(world):
    # given an auditor of Baoding's agency
    baoding = make_org("agency", jurisdiction="130600", name="保定市发改委")
    outsider = make_user(baoding, "auditor")
    # when
    response = client_for(outsider).get("/api/v1/reports/audit-log/")
    # then
    assert response.status_code == 200
    assert response.json()["count"] == 0


def test_events_filter_by_program(auditor, world):
    # when
    response = client_for(auditor).get("/api/v1/reports/audit-log/", {"program": world.program.pk, "limit": 200})
    # then every event is about the program's records
    types = {event["target_type"] for event in response.json()["results"]}
    assert types <= {
        "programs.program",
        "programs.fiscalyearbudget",
        "vouchers.voucher",
        "vouchers.voucherapplication",
        "vouchers.issuance",
    }
    assert "vouchers.voucher" in types


def test_events_filter_by_actor_and_record(auditor, program_admin, world):
    # given
    client = client_for(auditor)
    url = "/api/v1/reports/audit-log/"
    # when
    by_actor = client.get(url, {"actor": program_admin.username, "limit": 200}).json()["results"]
    by_record = client.get(url, {"target_type": "vouchers.voucher", "target_id": str(world.v1.pk)}).json()["results"]
    nobody = client.get(url, {"actor": "nobody-at-all"}).json()
    # then
    assert by_actor
    assert {event["actor"] for event in by_actor} == {program_admin.username}
    assert "voucher.revoked" in {event["action"] for event in by_actor}
    assert by_record
    assert {(event["target_type"], event["target_id"]) for event in by_record} == {
        ("vouchers.voucher", str(world.v1.pk))
    }
    assert nobody["count"] == 0


def test_the_trail_as_of_three_moments(auditor, world):
    # when the program's trail is read as of each moment of the worked example
    def actions(moment):
        query = {"program": world.program.pk, "limit": 200, "as_of": moment.isoformat()}
        body = client_for(auditor).get("/api/v1/reports/audit-log/", query).json()
        return [event["action"] for event in body["results"]]

    first, second, third = actions(world.moment_1), actions(world.moment_2), actions(world.moment_3)
    # then each moment's trail is the one before it and what happened since: the revocation by moment 2 only, the
    # expiry by moment 3 only
    assert second[: len(first)] == first
    assert third[: len(second)] == second
    assert "voucher.revoked" not in first
    assert second.count("voucher.revoked") == 1
    assert "voucher.expired" not in second
    assert "voucher.expired" in third[len(second) :]
