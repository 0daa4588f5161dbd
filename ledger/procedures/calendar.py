"""The trading calendar: calendar days and working days (工作日) in China Standard Time, with a
holiday calendar a centre can replace (public holidays and the adjusted working days, 调休).

How a period is counted (民法典 §201–§203, which the tendering laws follow):
- the day an event happens is not counted; the period starts the next day;
- a period "within n days" ends at 24:00 of its last day; if that last day is a rest day
  (a weekend or public holiday that is not an adjusted working day), the period ends at 24:00
  of the next working day;
- "n working days" counts working days only.

Ledger times are UTC; days are China Standard Time (UTC+8, no daylight saving). Pure code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

CHINA = timezone(timedelta(hours=8), "CST")

# The State Council's holiday arrangements (国务院办公厅关于2025年/2026年部分节假日安排的通知,
# 国办发明电〔2024〕12号 of 2024-11-12 and the notice of 2025-11-04): days off, and the weekend
# days that are working days instead.
_CN_HOLIDAYS = {
    2025: ("2025-01-01", "2025-01-28/2025-02-04", "2025-04-04/2025-04-06",
           "2025-05-01/2025-05-05", "2025-05-31/2025-06-02", "2025-10-01/2025-10-08"),
    2026: ("2026-01-01/2026-01-03", "2026-02-15/2026-02-23", "2026-04-04/2026-04-06",
           "2026-05-01/2026-05-05", "2026-06-19/2026-06-21", "2026-09-25/2026-09-27",
           "2026-10-01/2026-10-07"),
}
_CN_WORKDAYS = {
    2025: ("2025-01-26", "2025-02-08", "2025-04-27", "2025-09-28", "2025-10-11"),
    2026: ("2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20", "2026-10-10"),
}


def _days(spec: str) -> list[date]:
    first, _, last = spec.partition("/")
    start, end = date.fromisoformat(first), date.fromisoformat(last or first)
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


@dataclass(frozen=True)
class TradingCalendar:
    holidays: frozenset[date]  # days off that would otherwise be working days (and weekends)
    workdays: frozenset[date]  # weekend days that are working days (调休上班)
    years: frozenset[int]  # the years the calendar knows; other years are weekdays only

    @classmethod
    def china(cls) -> "TradingCalendar":
        """The national calendar as published for the years above."""
        return cls(frozenset(d for specs in _CN_HOLIDAYS.values() for s in specs for d in _days(s)),
                   frozenset(d for specs in _CN_WORKDAYS.values() for s in specs for d in _days(s)),
                   frozenset(_CN_HOLIDAYS))

    @classmethod
    def from_file(cls, path: Path) -> "TradingCalendar":
        """A centre's own calendar: JSON {"holidays": ["2027-01-01", "2027-02-05/2027-02-12",
        …], "workdays": [...]}, on top of the national one."""
        data = json.loads(path.read_text(encoding="utf-8"))
        base = cls.china()
        holidays = {d for s in data.get("holidays", []) for d in _days(s)}
        workdays = {d for s in data.get("workdays", []) for d in _days(s)}
        return cls(base.holidays | holidays, base.workdays | workdays,
                   base.years | {d.year for d in holidays | workdays})

    def is_working_day(self, day: date) -> bool:
        if day in self.workdays:
            return True
        return day.weekday() < 5 and day not in self.holidays

    def next_working_day(self, day: date) -> date:
        """`day` itself if it is a working day, else the first working day after it."""
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day

    def add_working_days(self, day: date, n: int) -> date:
        """The n-th working day after `day` (the day itself not counted)."""
        while n > 0:
            day += timedelta(days=1)
            if self.is_working_day(day):
                n -= 1
        return day

    def working_days_between(self, first: date, last: date) -> int:
        """Working days d with first < d <= last."""
        return sum(1 for i in range(1, (last - first).days + 1)
                   if self.is_working_day(first + timedelta(days=i)))


def local_date(instant: datetime) -> date:
    """The China Standard Time date of a ledger time."""
    return instant.astimezone(CHINA).date()


def end_of(day: date) -> datetime:
    """24:00 CST of `day`, in UTC: the first instant that is no longer inside it."""
    return datetime.combine(day + timedelta(days=1), time(0), CHINA).astimezone(timezone.utc)


def days_between(start: datetime, end: datetime) -> int:
    """Calendar days from the day of `start` to the day of `end` (CST dates)."""
    return (local_date(end) - local_date(start)).days


def deadline_after(start: datetime, n: int, *, working_days: bool,
                   calendar: TradingCalendar) -> datetime:
    """The end (exclusive) of a period of n days or n working days that starts the day after
    `start`: 24:00 of its last day, a rest day moving the end to the next working day."""
    first = local_date(start)
    if working_days:
        return end_of(calendar.add_working_days(first, n))
    return end_of(calendar.next_working_day(first + timedelta(days=n)))
