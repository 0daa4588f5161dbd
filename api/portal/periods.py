"""The legal periods of a project as a witness officer follows them, with the time left:
pure functions of the project's state, the members the officer may see, and the moment.

A period is the bid deadline (法 §24, the opening at it: 法 §34), the publicity of the
candidates (条例 §54), a listing's own (39号令: its announcement before the listing starts,
the listing, the registration deadline, the timed round's countdown), or a deadline that
binds the party answering (ledger/procedures/tender.py `Deadline`: an objection's answer,
the contract, each refund, a listing's deposit refunds and its result's publication...).
Alike deadlines (a refund to each bidder, due the same day and met alike) are one row naming
its subjects, as the witness report groups them. A deadline's `due` is its first late
instant."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ledger.procedures.rights import length_rule, notice_rule
from ledger.procedures.rules import RuleBook
from ledger.procedures.tender import ProjectState
from witness.vocabulary import DEADLINES

BID_DEADLINE = ("投标截止时间（开标）", "bid deadline (the opening)")
PUBLICITY = ("中标候选人公示期", "publicity of the candidates")
# a listing's or an online auction's periods (ledger/procedures/rights.py)
LISTING_NOTICE = ("挂牌出让公告期（至挂牌开始）", "announcement, until the listing starts")
LISTING = ("挂牌期（至挂牌截止）", "the listing, until its end")
REGISTRATION = ("竞买申请截止", "registration deadline")
TIMED_ROUND = ("限时竞价（当前倒计时）", "the timed round (its current countdown)")
# the kinds of period: closed at its instant (the ledger records the close), or ending by
# itself; any other is a deadline that is kept, late or overdue
CLOSES = ("bid-deadline", "listing", "timed-round")
RUNS_OUT = ("publicity", "listing-notice", "registration")


@dataclass(frozen=True)
class Period:
    name: tuple[str, str]  # (中文, English)
    article: str
    due: datetime  # its first late instant, UTC
    met: datetime | None  # when it was met (closed, answered, refunded), if it was
    subjects: tuple[str, ...] = ()  # whose (bidders), for a grouped deadline
    kind: str = "deadline"  # a CLOSES or RUNS_OUT kind, or a deadline

    def status(self, now: datetime) -> str:
        """open (time left), overdue (past and not met), kept, late (met after it); for the
        bid deadline, a listing and its timed round, closed (at it, or when recorded: the
        opening, 法 §34; the listing's close; the countdown run out); for the publicity, a
        listing's announcement and its registration, ended (they run out by themselves)."""
        if self.kind in CLOSES:
            return "closed" if self.met is not None or now >= self.due else "open"
        if self.kind in RUNS_OUT:
            return "open" if now < self.due else "ended"
        if self.met is not None:
            return "kept" if self.met < self.due else "late"
        return "open" if now < self.due else "overdue"


def legal_periods(state: ProjectState, shown: set[str],
                  rules: RuleBook = RuleBook.national()) -> list[Period]:
    """The project's periods whose members the caller may see (`shown`: the visible state's
    members), in the order they fall due; a listing's articles from the rules in force."""
    periods: list[Period] = []
    if "bid_deadline" in shown and state.bid_deadline is not None:
        periods.append(Period(BID_DEADLINE, "法 §24; 法 §34", state.bid_deadline,
                              state.closed_at if "closed_at" in shown else None,
                              kind="bid-deadline"))
    if "publicity_until" in shown and state.publicity_until is not None:
        periods.append(Period(PUBLICITY, "条例 §54", state.publicity_until, None,
                              kind="publicity"))
    periods += listing_periods(state, shown, rules)
    if "deadlines" in shown:
        grouped: dict[tuple, list[str]] = {}
        for d in state.deadlines:
            rule, _, subject = d.rule.partition(":")
            grouped.setdefault((rule, d.article, d.due, d.met), []).append(subject)
        for (rule, article, due, met), subjects in grouped.items():
            periods.append(Period(DEADLINES.get(rule, (rule, rule)), article, due, met,
                                  tuple(s for s in subjects if s)))
    return sorted(periods, key=lambda p: p.due)


def listing_periods(state: ProjectState, shown: set[str], rules: RuleBook) -> list[Period]:
    """A listing's own periods: its announcement until the listing starts (39号令 §11; state
    property, mining rights: their own rules), the listing until its end (closed when the
    ledger recorded the close), the registration deadline, and the timed round's current
    countdown (its end moved by each new highest quote, 39号令 §19)."""
    found = []
    if "listing_from" in shown and state.listing_from is not None:
        found.append(Period(LISTING_NOTICE, rules[notice_rule(state.asset)].article,
                            state.listing_from, None, kind="listing-notice"))
    if "listing_until" in shown and state.listing_until is not None:
        found.append(Period(LISTING, rules[length_rule(state.asset)].article,
                            state.listing_until,
                            state.closed_at if "closed_at" in shown else None, kind="listing"))
    if "registration_until" in shown and state.registration_until is not None:
        found.append(Period(REGISTRATION, rules["listing-registration"].article,
                            state.registration_until, None, kind="registration"))
    if "round_ends_at" in shown and state.round_ends_at is not None:
        found.append(Period(TIMED_ROUND, rules["timed-round"].article, state.round_ends_at,
                            None, kind="timed-round"))
    return found


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
