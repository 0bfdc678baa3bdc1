"""The demo's calendar ends at the latest month end before today, so that its warning
cases fall due around now as a live bank's would."""

import datetime as dt

from loanquality.demo import demo_months


def test_the_last_month_end_is_the_one_before_today():
    # 2026-12-01: November's close is the latest; two months back from it: Oct 31, Nov 30
    assert demo_months(2, dt.date(2026, 12, 1)) == [dt.date(2026, 10, 31), dt.date(2026, 11, 30)]


def test_on_a_month_end_that_month_is_not_closed_yet():
    # on 2026-11-30 the day is not over: the latest month end is 2026-10-31
    assert demo_months(1, dt.date(2026, 11, 30)) == [dt.date(2026, 10, 31)]


def test_twenty_four_months_span_two_years_back_with_februaries_of_28_days():
    # 24 month ends up to 2026-11-30 start 23 months earlier: 2024-12-31
    months = demo_months(24, dt.date(2026, 12, 1))
    assert (months[0], months[-1], len(months)) == (
        dt.date(2024, 12, 31),
        dt.date(2026, 11, 30),
        24,
    )
    # neither 2025 nor 2026 is a leap year: their Februaries end on the 28th
    assert dt.date(2025, 2, 28) in months
    assert dt.date(2026, 2, 28) in months


def test_january_reaches_back_into_the_previous_year():
    assert demo_months(1, dt.date(2026, 1, 15)) == [dt.date(2025, 12, 31)]
