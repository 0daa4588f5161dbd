"""The legal periods a witness officer's page shows (api/portal/periods.py): each period's
state at its boundaries, alike deadlines grouped, only the members the caller may see, and
the time left in words."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from api.portal.periods import (
    BID_DEADLINE, PUBLICITY, duration_words, legal_periods, next_deadline,
)
from ledger.procedures.tender import Deadline, ProjectState

UTC = timezone.utc
DUE = datetime(2025, 4, 15, 16, 0, tzinfo=UTC)  # 24:00 of 15 April in China
SECOND = timedelta(seconds=1)


def _state() -> ProjectState:
    return ProjectState(
        stage="awarded", bid_deadline=datetime(2025, 3, 24, 1, 30, tzinfo=UTC),
        closed_at=datetime(2025, 3, 24, 1, 30, tzinfo=UTC),
        publicity_until=datetime(2025, 3, 28, 16, 0, tzinfo=UTC),
        deadlines=[Deadline("security-refund:bidder-01", "条例 §57", DUE, DUE - SECOND),
                   Deadline("security-refund:bidder-02", "条例 §57", DUE, DUE - SECOND),
                   Deadline("security-refund:bidder-03", "条例 §57", DUE, None),
                   Deadline("contract", "法 §46", DUE + timedelta(days=15), None)])


def test_a_deadline_met_one_second_before_is_kept_and_at_its_instant_is_late():
    kept = legal_periods(_state(), {"deadlines"})[0]
    assert kept.subjects == ("bidder-01", "bidder-02") and kept.status(DUE) == "kept"
    late = type(kept)(kept.name, kept.article, DUE, DUE)
    assert late.status(DUE + timedelta(days=3)) == "late"


def test_an_open_deadline_runs_until_its_first_late_instant():
    open_one = legal_periods(_state(), {"deadlines"})[1]
    assert open_one.subjects == ("bidder-03",)  # met differently: a row of its own
    assert open_one.status(DUE - SECOND) == "open"
    assert open_one.status(DUE) == "overdue"


def test_the_bid_deadline_closes_and_the_publicity_ends_by_itself():
    periods = {p.name: p for p in legal_periods(_state(), {"bid_deadline", "closed_at",
                                                            "publicity_until"})}
    assert periods[BID_DEADLINE].status(datetime(2025, 3, 24, 1, 30, tzinfo=UTC)) == "closed"
    publicity = periods[PUBLICITY]
    assert publicity.status(publicity.due - SECOND) == "open"
    assert publicity.status(publicity.due) == "ended"


def test_only_what_the_caller_may_see_and_in_the_order_due():
    assert legal_periods(_state(), set()) == []
    assert [p.name for p in legal_periods(_state(), {"bid_deadline"})] == [BID_DEADLINE]
    everything = legal_periods(_state(), {"bid_deadline", "publicity_until", "deadlines"})
    assert [p.due for p in everything] == sorted(p.due for p in everything)


def test_the_next_deadline_is_the_first_still_running():
    periods = legal_periods(_state(), {"bid_deadline", "publicity_until", "deadlines"})
    assert next_deadline(periods, DUE - SECOND).subjects == ("bidder-03",)
    assert next_deadline(periods, DUE).name[0] == "签订书面合同"
    assert next_deadline(periods, DUE + timedelta(days=16)) is None


def test_time_left_in_words():
    assert duration_words(3 * 86400 + 4 * 3600 + 59, "zh") == "3 天 4 小时"
    assert duration_words(2 * 3600 + 5 * 60, "en") == "2 h 5 min"
    assert duration_words(59 * 60 + 59, "zh") == "59 分钟"
    assert duration_words(1, "en") == "1 min"  # never "0"
