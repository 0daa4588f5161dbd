"""The trading calendar at its boundaries: weekends, public holidays and adjusted working days
as the State Council published them, and periods counted as 民法典 §201–§203 count them."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from ledger.procedures.calendar import (
    TradingCalendar, days_between, deadline_after, end_of, local_date,
)

CN = TradingCalendar.china()


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)


@pytest.mark.parametrize("day, working", [
    ("2025-01-24", True),    # a Friday
    ("2025-01-25", False),   # a Saturday
    ("2025-01-26", True),    # a Sunday made a working day for the Spring Festival
    ("2025-01-28", False),   # New Year's Eve (除夕), a Tuesday off
    ("2025-02-04", False),   # the last day of the Spring Festival
    ("2025-02-05", True),
    ("2025-02-08", True),    # a Saturday made a working day
    ("2025-10-08", False),   # National Day and Mid-Autumn together: eight days
    ("2025-10-11", True),
    ("2026-02-23", False), ("2026-02-28", True), ("2026-09-20", True), ("2026-10-07", False),
])
def test_working_days_follow_the_published_arrangement(day, working):
    assert CN.is_working_day(date.fromisoformat(day)) is working


def test_china_standard_time_decides_the_day():
    assert local_date(utc("2025-03-01T15:59:59.999999Z")) == date(2025, 3, 1)
    assert local_date(utc("2025-03-01T16:00:00.000000Z")) == date(2025, 3, 2)
    assert end_of(date(2025, 3, 1)) == utc("2025-03-01T16:00:00.000000Z")
    assert days_between(utc("2025-03-01T15:00:00Z"), utc("2025-03-21T16:30:00Z")) == 21


def test_three_working_days_across_the_spring_festival():
    """A complaint accepted on Monday 27 January 2025: three working days skip the festival."""
    start = utc("2025-01-27T02:00:00Z")
    end = deadline_after(start, 3, working_days=True, calendar=CN)
    assert CN.add_working_days(date(2025, 1, 27), 3) == date(2025, 2, 7)
    assert end == end_of(date(2025, 2, 7))
    assert CN.working_days_between(date(2025, 1, 27), date(2025, 2, 7)) == 3


def test_a_period_ending_on_a_holiday_ends_on_the_next_working_day():
    """Three days from 28 April 2025 end on 1 May, a holiday: the period runs to 6 May."""
    end = deadline_after(utc("2025-04-28T03:00:00Z"), 3, working_days=False, calendar=CN)
    assert end == end_of(date(2025, 5, 6))
    # an ordinary week: three days from a Monday end on Thursday at 24:00
    end = deadline_after(utc("2025-03-03T03:00:00Z"), 3, working_days=False, calendar=CN)
    assert end == end_of(date(2025, 3, 6))


def test_a_centre_adds_its_own_days(tmp_path):
    path = tmp_path / "calendar.json"
    path.write_text('{"holidays": ["2027-01-01", "2027-02-05/2027-02-07"], '
                    '"workdays": ["2027-02-13"]}')
    own = TradingCalendar.from_file(path)
    assert not own.is_working_day(date(2027, 2, 5)) and own.is_working_day(date(2027, 2, 13))
    assert 2027 in own.years and not CN.is_working_day(date(2025, 1, 28))

