"""/api/v1/reports/spot-checks/: a reproducible random sample of a program's claims for a period (抽查)."""

from __future__ import annotations

import hashlib
import random

import pytest
from django.utils import timezone

from accounts.models import AuditEvent
from tests.factories import client_for

pytestmark = pytest.mark.django_db


def draw(reader, claimed, **body):
    today = timezone.localdate().isoformat()
    payload = {"program": claimed.cast.program.pk, "date_from": today, "date_to": today, "size": 1, **body}
    return client_for(reader).post("/api/v1/reports/spot-checks/", payload, format="json")


def test_a_sample_is_drawn_with_its_seed_recorded_and_drawn_again_the_same(bd, claimed):
    population = [claimed.first.pk, claimed.second.pk]
    # when the auditor draws one claim of the two submitted today, with a seed, twice, and once with another seed
    first = draw(bd.auditor, claimed, seed="2026-audit-1")
    again = draw(bd.auditor, claimed, seed="2026-audit-1")
    # then the draw is Python's random.Random(seed).sample over the ids, as documented, and the same both times
    assert first.status_code == again.status_code == 201, first.json()
    body = first.json()
    assert body["claim_ids"] == sorted(random.Random("2026-audit-1").sample(population, 1))
    assert again.json()["claim_ids"] == body["claim_ids"]
    assert (body["population"], body["seed"], body["size"]) == (2, "2026-audit-1", 1)
    expected_digest = hashlib.sha256(f"{population[0]},{population[1]}".encode()).hexdigest()
    assert body["population_sha256"] == expected_digest
    assert AuditEvent.objects.filter(action="report.spot_check").count() == 2
    # and listed, newest first
    listed = client_for(bd.auditor).get("/api/v1/reports/spot-checks/").json()["results"]
    assert [row["id"] for row in listed] == [again.json()["id"], body["id"]]


def test_without_a_seed_one_is_chosen_and_recorded(bd, claimed):
    # when
    body = draw(bd.auditor, claimed, size=5).json()
    # then a sample larger than the population is all of it, and the seed chosen is there to redraw with
    assert body["claim_ids"] == [claimed.first.pk, claimed.second.pk]
    assert body["seed"].isdigit()
    assert draw(bd.auditor, claimed, size=5, seed=body["seed"]).json()["claim_ids"] == body["claim_ids"]


def test_the_population_is_as_recorded_by_as_of(bd, claimed):
    # when drawn as of moment 0 (only claim 1 was submitted then)
    body = draw(bd.auditor, claimed, size=2, seed="s", as_of=claimed.moment_0.isoformat()).json()
    # then
    assert (body["population"], body["claim_ids"]) == (1, [claimed.first.pk])


def test_bad_requests_are_refused_by_field_and_others_are_refused(bd, claimed, auditor):
    # when
    too_many = draw(bd.auditor, claimed, size=501)
    backwards = draw(bd.auditor, claimed, date_from="2026-12-31", date_to="2026-01-01")
    unknown = draw(bd.auditor, claimed, colour="red")
    by_reviewer = draw(bd.reviewer, claimed)
    by_ningxia_auditor = draw(auditor, claimed)
    # then
    assert too_many.status_code == 400
    assert "size" in too_many.json()["error"]["fields"]
    assert backwards.status_code == 400
    assert "date_to" in backwards.json()["error"]["fields"]
    assert unknown.status_code == 400
    assert by_reviewer.status_code == 403
    assert by_ningxia_auditor.status_code == 404  # Baoding's program does not exist for Ningxia's auditor
