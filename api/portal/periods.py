"""The legal periods of a project as a witness officer follows them, with the time left:
pure functions of the project's state, the members the officer may see, and the moment.

A period is the bid deadline (法 §24, the opening at it: 法 §34), the publicity of the
candidates (条例 §54), or a deadline that binds the party answering (ledger/procedures/
tender.py `Deadline`: an objection's answer, the contract, each refund...). Alike deadlines
(a refund to each bidder, due the same day and met alike) are one row naming its subjects,
as the witness report groups them. A deadline's `due` is its first late instant."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ledger.procedures.tender import ProjectState
from witness.vocabulary import DEADLINES

BID_DEADLINE = ("投标截止时间（开标）", "bid deadline (the opening)")
PUBLICITY = ("中标候选人公示期", "publicity of the candidates")


@dataclass(frozen=True)
class Period:
    name: tuple[str, str]  # (中文, English)
    article: str
    due: datetime  # its first late instant, UTC
    met: datetime | None  # when it was met (closed, answered, refunded), if it was
    subjects: tuple[str, ...] = ()  # whose (bidders), for a grouped deadline

    def status(self, now: datetime) -> str:
        """open (time left), overdue (past and not met), kept, late (met after it); for the
        bid deadline, closed (submission closed at it: the opening, 法 §34); for the
        publicity, ended (it runs out by itself)."""
        if self.name == BID_DEADLINE:
            return "closed" if self.met is not None or now >= self.due else "open"
        if self.met is not None:
            return "kept" if self.met < self.due else "late"
        if now < self.due:
            return "open"
        return "ended" if self.name == PUBLICITY else "overdue"


def legal_periods(state: ProjectState, shown: set[str]) -> list[Period]:
    """The project's periods whose members the caller may see (`shown`: the visible state's
    members), in the order they fall due."""
    periods: list[Period] = []
    if "bid_deadline" in shown and state.bid_deadline is not None:
        periods.append(Period(BID_DEADLINE, "法 §24; 法 §34", state.bid_deadline,
                              state.closed_at if "closed_at" in shown else None))
    if "publicity_until" in shown and state.publicity_until is not None:
        periods.append(Period(PUBLICITY, "条例 §54", state.publicity_until, None))
    if "deadlines" in shown:
        grouped: dict[tuple, list[str]] = {}
        for d in state.deadlines:
            rule, _, subject = d.rule.partition(":")
            grouped.setdefault((rule, d.article, d.due, d.met), []).append(subject)
        for (rule, article, due, met), subjects in grouped.items():
            periods.append(Period(DEADLINES.get(rule, (rule, rule)), article, due, met,
                                  tuple(s for s in subjects if s)))
    return sorted(periods, key=lambda p: p.due)


def next_deadline(periods: list[Period], now: datetime) -> Period | None:
    """The first period still running (not met, not past), if any."""
    return next((p for p in periods if p.status(now) == "open"), None)


def duration_words(seconds: float, language: str) -> str:
    """A span as people say it: days and hours, or hours and minutes under a day, or
    minutes under an hour (at least 1 minute)."""
    minutes = max(1, int(seconds // 60))
    days, hours, mins = minutes // 1440, minutes % 1440 // 60, minutes % 60
    zh = language == "zh"
    if days:
        return f"{days} 天 {hours} 小时" if zh else f"{days} d {hours} h"
    if hours:
        return f"{hours} 小时 {mins} 分" if zh else f"{hours} h {mins} min"
    return f"{mins} 分钟" if zh else f"{mins} min"
