"""The burn-down series of a program-year: the budget statement's figures as of each moment, from the opening on."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.claims import issue_voucher
from tests.factories import make_program
from voucher_service.programs.selectors import budget_for
from voucher_service.reports.burndown import budget_burndown, burndown_moments, opened_at

pytestmark = pytest.mark.django_db


def test_the_series_starts_at_the_opening_with_the_whole_cap_and_follows_the_issuance(
    program_admin, ningxia_agency, entity
):
    # given a 1,000 yuan year, and 250 yuan issued after its opening
    program = make_program(program_admin, ningxia_agency)
    budget = budget_for(program, timezone.localdate().year)
    issue_voucher(program, entity, 250_00)
    now = timezone.now()
    # when
    moments = burndown_moments(budget, now, count=5)
    points = budget_burndown(budget, [opened_at(budget), now])
    # then five moments from the opening entry to now, ends included and in order
    assert len(moments) == 5
    assert moments[0] == opened_at(budget)
    assert moments[-1] == now
    assert moments == sorted(moments)
    # and the figures are the statement's at each end
    first, last = (point.figures for point in points)
    assert (first["cap"], first["issued"], first["remaining"]) == (1000_00, 0, 1000_00)
    assert (last["cap"], last["issued"], last["held"], last["paid"]) == (1000_00, 250_00, 0, 0)
    assert last["remaining"] == 750_00


def test_a_past_year_ends_at_its_last_moment(program_admin, ningxia_agency):
    # given
    program = make_program(program_admin, ningxia_agency)
    budget = budget_for(program, timezone.localdate().year)
    # when asked from long after the year
    moments = burndown_moments(budget, timezone.now() + timedelta(days=800), count=3)
    # then the last moment is 31 December's end, local time
    last = timezone.localtime(moments[-1])
    assert (last.year, last.month, last.day, last.hour, last.minute) == (budget.year, 12, 31, 23, 59)
