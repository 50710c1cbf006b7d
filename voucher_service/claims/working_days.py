"""Working days in China (工作日): weekdays that are not public holidays, plus the weekend days worked in lieu
(调休), from the State Council's calendar as the pinned ``chinese-calendar`` package carries it.

Beyond the years that package knows (its data ends with the last calendar published before its release), a day is
a working day when it is Monday to Friday: the notice period is then at worst a holiday short, never unbounded.
"""

from __future__ import annotations

from datetime import date, timedelta

import chinese_calendar


def is_working_day(day: date) -> bool:
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:  # a year the package has no data for
        return day.weekday() < 5


def add_working_days(start: date, count: int) -> date:
    """The ``count``-th working day after ``start`` (``start`` itself not counted); ``start`` when count is 0."""
    day, left = start, count
    while left > 0:
        day += timedelta(days=1)
        if is_working_day(day):
            left -= 1
    return day
