"""Working days for the 公示 period: China's holidays and 调休 make-up days, weekdays beyond the calendar's data."""

from datetime import date

from voucher_service.claims.working_days import add_working_days, is_working_day


def test_holidays_and_make_up_days_are_counted_as_the_state_council_set_them():
    # National Day 2026: 1-7 October off, Saturday 10 October worked (调休); New Year: Sunday 4 January worked
    assert not is_working_day(date(2026, 10, 1))
    assert is_working_day(date(2026, 10, 10))
    assert is_working_day(date(2026, 1, 4))
    assert not is_working_day(date(2026, 10, 11))  # an ordinary Sunday


def test_five_working_days_across_a_holiday():
    # from Wednesday 30 September 2026: 8, 9, 10 (Saturday, worked), 12 and 13 October
    assert add_working_days(date(2026, 9, 30), 5) == date(2026, 10, 13)
    # an ordinary week: Monday → the next Monday
    assert add_working_days(date(2026, 11, 2), 5) == date(2026, 11, 9)
    assert add_working_days(date(2026, 11, 2), 0) == date(2026, 11, 2)


def test_beyond_the_calendars_data_weekdays_count():
    # 2040 is past any calendar the pinned package carries: Monday to Friday are working days
    assert is_working_day(date(2040, 1, 2))  # a Monday
    assert not is_working_day(date(2040, 1, 7))  # a Saturday
    assert add_working_days(date(2040, 1, 6), 5) == date(2040, 1, 13)
