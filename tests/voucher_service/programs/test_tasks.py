"""Celery tasks and the beat schedule of the programs domain."""

from __future__ import annotations

import pytest
from django.utils import timezone

from tests.factories import client_for
from voucher_service.celery import app
from voucher_service.programs.models import FiscalYearBudget
from voucher_service.programs.schedule import BEAT_SCHEDULE
from voucher_service.programs.tasks import open_fiscal_year, open_program_year

pytestmark = pytest.mark.django_db


def test_the_beat_schedule_names_registered_tasks():
    for entry in BEAT_SCHEDULE.values():
        assert entry["task"] in app.tasks


def test_the_fiscal_year_task_is_idempotent(seeds):
    first = open_fiscal_year.delay(2025).get()
    second = open_fiscal_year.delay(2025).get()
    assert len(first["opened"]) == 3
    assert first == second
    assert first["failed"] == {}
    assert FiscalYearBudget.objects.count() == 3


def test_the_fiscal_year_task_opens_the_others_when_one_program_fails(seeds, monkeypatch, caplog):
    # given Baoding's opening fails (whatever the reason: here the ledger is down for it)
    from voucher_service.programs import budgets

    real_open = budgets.budget_open

    def failing_for_baoding(*, actor, program, year):
        if program.pk == seeds.baoding.pk:
            raise RuntimeError("ledger unavailable")
        return real_open(actor=actor, program=program, year=year)

    monkeypatch.setattr(budgets, "budget_open", failing_for_baoding)
    # when the beat task opens 2025
    result = open_fiscal_year.delay(2025).get()
    # then Ningxia and Hohhot are opened, Baoding is reported and logged, and the task itself succeeded
    assert set(FiscalYearBudget.objects.values_list("program__code", flat=True)) == {
        seeds.ningxia.code,
        seeds.hohhot.code,
    }
    assert result["failed"] == {seeds.baoding.code: "ledger unavailable"}
    assert seeds.baoding.code in caplog.text


def test_a_missing_program_is_a_no_op(db):
    assert open_program_year.delay(999_999, 2025).get() is None


def test_publishing_opens_this_years_budget_at_once(program_admin, ningxia_agency, django_capture_on_commit_callbacks):
    # given a draft in force this year
    year = timezone.localdate().year
    client = client_for(program_admin)
    draft = client.post(
        "/api/v1/programs/",
        {
            "code": "this-year",
            "name": "本年度",
            "jurisdiction": "640000",
            "issuing_agency": ningxia_agency.pk,
            "valid_from": f"{year}-01-01",
            "rules": {"annual_cap": "1000.00", "eligible_categories": ["maker"]},
        },
        format="json",
    ).json()
    # when it is published
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert client.post(f"/api/v1/programs/{draft['id']}/publish/").status_code == 200
    # then this year's budget is open in the same transaction (nothing waits for a task), and the only on-commit
    # callback is the ledger's seal request that posting the budget made
    from ledger.sealing import enqueue_seal

    assert FiscalYearBudget.objects.get(program_id=draft["id"]).year == year
    assert [callback for callback in callbacks if getattr(callback, "task", None) is not enqueue_seal] == []
