"""A lot's quote ladder and its countdown history as of any instant: what a listing or an
online auction (procedures/rights.py) showed at that moment, rebuilt from its events.

Each accepted quote in the ledger's order, the highest and the least next quote then, and in
the timed round each countdown: from the round's opening, and again from each new highest
quote, with the instant it would run out (the last one that ran out ended the round). Pure:
folded from the project's events, through the same procedure as every replay (or read from
the state a server keeps folded at the project's head)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from ledger.procedures.listing import Quote, highest, least_next
from ledger.procedures.tender import ProjectState
from projections.project_state import replay


@dataclass(frozen=True)
class Countdown:
    """One countdown of the timed round: started at `started` (the round's opening or a new
    highest quote), running out at `runs_out` unless a newer highest quote restarts it."""

    started: datetime
    runs_out: datetime
    restarted_by: Quote | None  # None: the round's opening


@dataclass(frozen=True)
class Ladder:
    """The lot as of an instant."""

    stage: str
    quotes: tuple[Quote, ...]  # accepted, in the ledger's order
    highest: Quote | None
    least_next: Decimal | None  # the least quote accepted next (while bidding goes on)
    increment: Decimal | None
    countdowns: tuple[Countdown, ...]  # the timed round's, in order (none before it)
    reserve: Decimal | None  # once revealed


def ladder(events: list[dict], at: datetime | None = None) -> Ladder:
    """The ladder of a listed lot from its events, as of ledger time `at` (None: now)."""
    state, _ = replay(events, at_time=at, steps=False)
    return ladder_of(state)


def ladder_of(state: ProjectState) -> Ladder:
    """The ladder of a listed lot whose events are folded into `state` (a replay's, or the
    fold a server keeps of each project now: projections/projects_now.py)."""
    quotes = tuple(state.quotes)
    bidding = state.stage in ("listing", "timed-round") and state.starting_price is not None
    return Ladder(
        stage=state.stage, quotes=quotes, highest=highest(quotes),
        least_next=least_next(quotes, state.starting_price, state.increment)
        if bidding and state.increment is not None else None,
        increment=state.increment, countdowns=countdowns(state.round_opened_at, quotes,
                                                         state.countdown_seconds),
        reserve=state.reserve)


def countdowns(opened_at: datetime | None, quotes: tuple[Quote, ...],
               seconds: int) -> tuple[Countdown, ...]:
    """The timed round's countdowns: the first from its opening, then one from each quote
    accepted in the round (each was the new highest: the ladder only rises)."""
    if opened_at is None:
        return ()
    length = timedelta(seconds=seconds)
    found = [Countdown(opened_at, opened_at + length, None)]
    found += [Countdown(q.at, q.at + length, q) for q in quotes if q.at >= opened_at]
    return tuple(found)
